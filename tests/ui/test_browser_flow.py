"""What a new user does when an alert fires, in a real headless Chromium against a real
``streamlit run``, in English and in Chinese: from the wall to the alert, its chart with
the threshold, a silence, the rule's editor with a backtest, and the alert found again
through search."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from tests.conftest import need_binary
from tests.ui.browser import DevTools, headless_chromium, open_page, streamlit, wait_for
from tests.ui.conftest import make_seeded
from vigil.i18n import t
from vigil.rules_store import import_rules
from vigil.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RULE = {"alert": "LatencyHigh", "expr": "http_latency_seconds > 3.5", "for": "1m",
        "labels": {"severity": "critical"},
        "annotations": {"summary": "latency of {{ $labels.service }} above 3.5 s"}}  # fmt: skip


def _seed(data_dir) -> str:
    """The known estate, the rule, and its evaluation: payments' latency jumps in the
    last five minutes, so LatencyHigh fires there. Returns that alert's id."""
    seeded = make_seeded(data_dir, pd.Timedelta(seconds=30))
    store = Store.open(seeded.data_dir)
    try:
        import_rules(store, yaml.safe_dump({"groups": [{"name": "web", "rules": [RULE]}]}),
                     "alice")  # fmt: skip
        store.execute("DELETE FROM rules WHERE rule_id = 'test-rule'")
        evaluate_window(store, ModelCache(), seeded.now - pd.Timedelta(hours=2), seeded.now,
                        interval_s=60)  # fmt: skip
        return str(store.one("SELECT alert_id FROM alerts WHERE rule_id = 'LatencyHigh' "
                             "AND state = 'firing' ORDER BY alert_id LIMIT 1"))  # fmt: skip
    finally:
        store.close()


def _click(devtools: DevTools, selector_js: str, what: str, timeout: float = 30) -> None:
    wait_for(lambda: devtools.evaluate(f"!!({selector_js})"), timeout, what)
    devtools.evaluate(f"({selector_js}).click()")


def _text_shows(devtools: DevTools, text: str, what: str, timeout: float = 30) -> None:
    check = f"document.body.textContent.includes({text!r})"
    wait_for(lambda: devtools.evaluate(check), timeout, what)


def _button(label: str) -> str:
    return f"[...document.querySelectorAll('button')].find(b => b.innerText.trim() === {label!r})"


def _walk_through(devtools: DevTools, url: str, alert_id: str, lang: str) -> None:
    open_page(devtools, f"{url}/?lang={lang}")
    _click(devtools, f"document.querySelector('a.vw-link[href*=\"alert={alert_id}\"]')",
           "the alert on the wall")  # fmt: skip
    _text_shows(devtools, t("rules.threshold", lang), "the alert's chart with its threshold")
    assert "/alerts" in str(devtools.evaluate("location.pathname"))
    _click(devtools, _button(t("alerts.silence_button", lang)), "the silence button")
    confirmed = t("alerts.silenced", lang, until="").rstrip(" 。.")
    _text_shows(devtools, confirmed, "the silence confirmation")
    rule_link = "[...document.querySelectorAll('a')].find(a => a.href.includes('rule=LatencyHigh'))"
    wait_for(lambda: devtools.evaluate(f"!!({rule_link})"), 30, "the link to the rule")
    open_page(devtools, str(devtools.evaluate(f"({rule_link}).href")))  # it opens a new tab
    tab = (f"[...document.querySelectorAll('[role=tab]')]"
           f".find(b => b.innerText.includes({t('rules.edit', lang)!r}))")  # fmt: skip
    _click(devtools, tab, "the rule editor's tab")
    _click(devtools, _button(t("rules.preview", lang)), "the backtest button")
    _text_shows(devtools, t("rules.per_day_chart", lang), "the backtest charts", timeout=60)
    open_page(devtools, f"{url}/search?q=LatencyHigh&lang={lang}")
    found = (
        f"location.pathname.endsWith('/search') && "
        f"!!document.querySelector('a:not(.vw-link)[href*=\"alerts?alert={alert_id}\"]')"
    )
    wait_for(lambda: devtools.evaluate(found), 30, "the alert found by search")


def test_from_the_wall_to_a_silence_a_backtest_and_search_in_both_languages(tmp_path) -> None:
    binary = need_binary("chromium")
    alert_id = _seed(tmp_path / "data")
    with (
        streamlit(tmp_path / "data", tmp_path) as url,
        headless_chromium(binary, tmp_path) as devtools,
    ):
        for lang in ("en", "zh"):
            _walk_through(devtools, url, alert_id, lang)
    store = Store.open(tmp_path / "data")
    try:
        assert store.one("SELECT count(*) FROM silences") == 2
        assert (
            store.one("SELECT max(version) FROM rule_versions WHERE rule_id = 'LatencyHigh'") == 1
        )
    finally:
        store.close()
