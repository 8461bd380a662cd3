"""The Models page and the model overview it reads, on a seeded estate with real fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from jobs.refit import refit_all
from tests.ui.conftest import Seeded, seed
from vigil.clock import utc_now
from vigil.model_status import model_history, model_overview, state_counts
from vigil.store import Store

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGE = "pages/models.py"


def _fail_next_fit(store: Store, series_id: int) -> None:
    """A newer attempt that failed, as refit records one: the old model stays in use."""
    store.execute(
        "INSERT INTO models (series_id, kind, version, status, trained_at, error) "
        "SELECT ?, 'detector', max(version) + 1, 'failed', ?, "
        "'ValueError: need at least two finite points' FROM models WHERE series_id = ?",
        [series_id, utc_now().to_pydatetime(), series_id],
    )


@pytest.fixture
def fitted_store(store: Store, data_dir: Path) -> Store:
    now = utc_now().floor("s")
    seed(store, now, pd.Timedelta(seconds=30))
    store.execute("DELETE FROM samples WHERE series_id = 4")  # one series never fitted
    refit_all(store, data_dir / "models", training_days=1, step_seconds=60, now=now, n_jobs=1)
    _fail_next_fit(store, 2)
    return store


def test_overview_says_which_model_is_used_and_which_fit_failed(fitted_store: Store) -> None:
    overview = model_overview(fitted_store).set_index("series_id")
    assert overview.loc[1, "state"] == "ok" and overview.loc[1, "version"] == 1
    assert overview.loc[2, "state"] == "failed" and overview.loc[2, "version"] == 1
    assert overview.loc[2, "versions"] == 2 and "finite points" in overview.loc[2, "last_error"]
    assert overview.loc[4, "state"] == "none" and pd.isna(overview.loc[4, "model_id"])
    assert overview.loc[1, "training_points"] == 120
    assert 0 <= overview.loc[1, "training_alert_share"] <= 1
    assert overview.loc[1, "residual_sigma"] > 0
    assert state_counts(overview.reset_index()) == {"ok": 2, "failed": 1, "none": 1}
    history = model_history(fitted_store, 2)
    assert history["version"].tolist() == [2, 1]
    assert history["in_use"].tolist() == [False, True]
    assert history.loc[1, "params"]["band_k"] == 3.0


@pytest.fixture
def open_models(open_page) -> Callable[..., AppTest]:
    return lambda data_dir, **query: open_page(data_dir, PAGE, **query)


def _text(app: AppTest) -> str:
    kinds = ("markdown", "title", "subheader", "caption", "info", "success", "warning")
    return "\n".join(str(e.value) for kind in kinds for e in app.get(kind))


def test_the_refit_button_fits_every_series_and_the_page_shows_them(
    open_models, fresh_estate: Seeded
) -> None:
    app = open_models(fresh_estate.data_dir)
    assert not app.exception
    assert "0 series with a current model" in _text(app)
    app.button(key="models_refit").click().run()
    assert not app.exception
    text = _text(app)
    assert "Refit done: 4 fitted, 0 failed" in text
    assert "4 series with a current model" in text
    listed, history = (frame.value for frame in app.dataframe)
    assert len(listed) == 4 and set(listed["State"]) == {"current"}
    assert app.get("plotly_chart")  # the quality chart
    assert history["Status"].tolist() == ["ok (in use)"]
    app.button(key="models_refit").click().run()
    history = app.dataframe[1].value
    assert history["Version"].tolist() == [2, 1]
    assert history["Status"].tolist() == ["ok (in use)", "ok"]


def test_chinese_page(open_models, fresh_estate: Seeded) -> None:
    app = open_models(fresh_estate.data_dir, lang="zh")
    assert not app.exception
    assert "模型" in [e.value for e in app.get("title")]
    assert "立即重新拟合全部序列" in [b.label for b in app.get("button")]


def test_a_refit_asked_for_while_one_runs_is_refused_and_recorded(
    open_models, fresh_estate: Seeded
) -> None:
    from vigil.engine import get_engine

    app = open_models(fresh_estate.data_dir)
    engine = get_engine()
    with engine._refit_lock:  # a scheduled refit is running
        app.button(key="models_refit").click().run()
    assert not app.exception
    assert "A refit is already running" in _text(app)
    assert "0 series with a current model" in _text(app)
    runs = engine.store.df("SELECT status, error FROM job_runs WHERE job = 'refit'")
    assert runs["status"].tolist() == ["failed"] and "already running" in runs["error"].iloc[0]
