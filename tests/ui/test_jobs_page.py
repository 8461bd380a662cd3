"""The Jobs & sources page in Streamlit's AppTest, on empty and seeded data dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded, app_env, signed_in
from vigil.store import Store

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGE = "pages/jobs.py"


@pytest.fixture
def open_jobs(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    """Open the app on ``data_dir`` and go to the jobs page; returns the AppTest."""

    def factory(data_dir: Path, **query: str) -> AppTest:
        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=30))
        app.query_params.update(query)
        app.run()
        return app.switch_page(PAGE).run()

    yield factory


@pytest.fixture
def estate_with_down_source(fresh_estate: Seeded) -> Seeded:
    """The known estate plus a Prometheus source whose last pull failed after its success."""
    store = Store.open(fresh_estate.data_dir)
    try:
        now = fresh_estate.now
        store.execute(
            "INSERT INTO source_health (source, last_success, last_error_at, last_error, "
            "newest_sample, series_count, updated_at) VALUES ('prometheus', ?, ?, ?, ?, 0, ?)",
            [(now - pd.Timedelta(minutes=3)).to_pydatetime(),
             (now - pd.Timedelta(minutes=1)).to_pydatetime(),
             "ConnectError: connection refused by prom:9090",
             (now - pd.Timedelta(minutes=3)).to_pydatetime(), now.to_pydatetime()],
        )  # fmt: skip
    finally:
        store.close()
    return fresh_estate


def _text(app: AppTest) -> str:
    parts = [e.value for kind in ("html", "markdown", "title", "subheader", "caption", "info")
             for e in app.get(kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def test_empty_data_dir_says_there_are_no_sources(open_jobs, empty_data_dir: Path) -> None:
    app = open_jobs(empty_data_dir)
    assert not app.exception
    assert app.title[0].value == "Jobs & sources"
    text = _text(app)
    assert "No sources yet" in text and "No job runs recorded yet" in text
    assert not app.get("plotly_chart")


def test_down_source_shows_its_error_and_the_down_label(
    open_jobs, estate_with_down_source: Seeded
) -> None:
    app = open_jobs(estate_with_down_source.data_dir)
    assert not app.exception
    text = _text(app)
    assert "ConnectError: connection refused by prom:9090" in text
    card = text[text.index("<span>prometheus</span>") :]
    assert card.index('class="vj-badge">DOWN<') < card.index("connection refused")
    assert "#dc2626" in text  # red
    assert "<span>test</span>" in text  # known only from its series


def test_seeded_page_draws_the_job_timeline_and_the_runs_table(
    open_jobs, fresh_estate: Seeded
) -> None:
    app = open_jobs(fresh_estate.data_dir)
    assert not app.exception
    assert [chart.key for chart in app.get("plotly_chart")] == ["job_timeline"]
    runs = app.dataframe[-1].value
    assert sorted(runs["Job"]) == ["evaluate", "pull"]
    app.multiselect(key="jobs_filter_status").set_value(["failed"]).run()
    assert not app.exception
    runs = app.dataframe[-1].value
    assert runs["Job"].tolist() == ["evaluate"] and runs["Status"].tolist() == ["failed"]


def test_chinese_renders_the_chinese_title_and_labels(
    open_jobs, estate_with_down_source: Seeded
) -> None:
    app = open_jobs(estate_with_down_source.data_dir, lang="zh")
    assert not app.exception
    assert app.title[0].value == "任务与数据源"
    assert 'class="vj-badge">中断<' in _text(app)
    assert "Jobs & sources" not in _text(app)
