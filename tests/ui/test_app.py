"""The app in Streamlit's AppTest, against real data dirs: empty, fresh and stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded, app_env, signed_in
from vigil.i18n import format_duration

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    """Point the settings at a data dir and return an AppTest factory for it."""

    def factory(data_dir: Path, **query: str) -> AppTest:
        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=30))
        app.query_params.update(query)
        return app

    yield factory


def _text(app: AppTest) -> str:
    """Everything rendered as text or HTML, to look for what a person would read."""
    parts = [e.value for kind in ("html", "markdown", "title", "caption", "info", "error")
             for e in app.get(kind)]  # fmt: skip
    parts += [str(e.proto.text) for e in app.get("progress")]
    return "\n".join(str(p) for p in parts)


def test_wall_on_empty_data_dir_says_there_is_no_data(open_app, empty_data_dir: Path) -> None:
    app = open_app(empty_data_dir).run()
    assert not app.exception
    assert "No data yet" in _text(app)
    assert not app.get("plotly_chart")


def test_wall_shows_start_up_progress_instead_of_charts(open_app, empty_data_dir: Path) -> None:
    from vigil.engine import get_engine

    app = open_app(empty_data_dir)
    # The engine reports its own phase; set one as its bootstrap thread would mid-backfill.
    get_engine()._set("backfilling", "demo: day 3/14", 0.25)
    app.run()
    assert not app.exception
    progress = app.get("progress")
    assert len(progress) == 1 and progress[0].proto.value == 25
    assert "Loading history" in _text(app) and "demo: day 3/14" in _text(app)


def test_wall_shows_services_and_firing_alert_without_banner_when_fresh(
    open_app, fresh_estate: Seeded
) -> None:
    app = open_app(fresh_estate.data_dir).run()
    assert not app.exception
    text = _text(app)
    for service in ("checkout", "payments", "search"):
        assert f'<div class="vw-name">{service}</div>' in text
    assert "Checkout latency above baseline" in text
    assert "CRITICAL" in text and "WARNING" in text
    assert "STALE DATA" not in text
    assert "Updated " in text
    keys = [chart.key for chart in app.get("plotly_chart")]
    assert sorted(k for k in keys if k.startswith("spark-")) == [f"spark-{i}" for i in (1, 2, 3, 4)]
    assert "timeline" in keys  # the last day's alerts beside the incidents


def test_wall_shows_stale_banner_when_data_is_old(open_app, stale_estate: Seeded) -> None:
    app = open_app(stale_estate.data_dir).run()
    assert not app.exception
    text = _text(app)
    # The page measures the age against its own clock, which may tick past a minute after
    # the fixture's: read the clock off the page and expect the age it implies.
    clock = re.search(r"Updated (\d\d:\d\d:\d\d) UTC", text)
    assert clock is not None
    updated = pd.Timestamp(f"{stale_estate.now.date()} {clock.group(1)}")
    if updated < stale_estate.now:  # the page's clock passed midnight
        updated += pd.Timedelta(days=1)
    age = format_duration(updated - stale_estate.newest, "en")
    assert age.startswith("2 h ")
    assert "STALE DATA" in text and f"newest sample {age} ago" in text
    assert "checkout" in text


def test_explore_charts_each_series_and_filters_by_label(open_app, fresh_estate) -> None:
    app = open_app(fresh_estate.data_dir)
    app.run()
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    app.selectbox(key="explore_metric").set_value("http_latency_seconds").run()
    assert len(app.get("plotly_chart")) == 3
    labels = [b.label for b in app.get("download_button")]
    assert labels == ["Download CSV", "Download Parquet"]
    services = app.multiselect(key="explore_label_http_latency_seconds_service")
    assert services.options == ["checkout (1)", "payments (1)", "search (1)"]
    services.set_value(["payments"]).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 1


def test_language_query_parameter_renders_chinese(open_app, fresh_estate: Seeded) -> None:
    app = open_app(fresh_estate.data_dir, lang="zh").run()
    assert not app.exception
    text = _text(app)
    assert "系统健康状况" in text and "严重" in text
    assert "Estate health" not in text


def test_language_selector_switches_and_keeps_choice_in_url(open_app, fresh_estate) -> None:
    app = open_app(fresh_estate.data_dir).run()
    app.sidebar.selectbox[0].set_value("zh").run()
    assert not app.exception
    assert "正在触发的告警" in _text(app)
    assert app.query_params["lang"] == "zh"
    app.switch_page("pages/explore.py").run()
    assert app.title[0].value == "探索"


def test_kiosk_mode_hides_chrome_and_language_selector(open_app, fresh_estate) -> None:
    app = open_app(fresh_estate.data_dir, kiosk="1").run()
    assert not app.exception
    assert not app.sidebar.selectbox
    assert any('[data-testid="stSidebar"]' in m.value for m in app.markdown)


def test_explore_on_empty_data_dir_explains_instead_of_charting(
    open_app, empty_data_dir: Path
) -> None:
    app = open_app(empty_data_dir)
    app.run()
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    assert not app.get("plotly_chart")
    assert "No series yet" in _text(app)
