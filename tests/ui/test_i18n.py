"""Both UI languages are complete, and every key the UI asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from vigil.i18n import EN, ZH, format_duration, normalise_language, t

REPO = Path(__file__).resolve().parents[2]
UI_FILES = [REPO / "app.py", REPO / "vigil" / "charts.py", *sorted((REPO / "pages").glob("*.py"))]


def test_english_and_chinese_have_the_same_keys() -> None:
    assert set(EN) == set(ZH)


def test_every_literal_key_used_by_the_ui_is_translated() -> None:
    used = {
        key
        for path in UI_FILES
        for key in re.findall(r"\bt\(\s*[\"']([a-z_.0-9]+)[\"']", path.read_text())
    }
    assert used, "no t() calls found"
    assert used <= set(EN), sorted(used - set(EN))


def test_placeholders_match_between_languages() -> None:
    for key, text in EN.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", ZH[key])), key


def test_unknown_key_shows_itself_and_values_are_filled_in() -> None:
    assert t("no.such.key", "zh") == "no.such.key"
    assert t("wall.more_alerts", "en", n=3) == "and 3 more"
    assert t("wall.title", "fr") == EN["wall.title"]


def test_language_codes_are_normalised() -> None:
    assert normalise_language("zh-CN") == "zh"
    assert normalise_language("ZH") == "zh"
    assert normalise_language("fr", "en") == "en"
    assert normalise_language(None, "zh") == "zh"


def test_durations_read_naturally() -> None:
    assert format_duration(pd.Timedelta(seconds=42), "en") == "42s"
    assert format_duration(pd.Timedelta(minutes=125), "en") == "2 h 5 min"
    assert format_duration(pd.Timedelta(hours=50), "zh") == "2 天 2 小时"
    assert format_duration(pd.Timedelta(seconds=-5), "en") == "0s"
