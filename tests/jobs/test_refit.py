"""Refitting: every series gets a versioned model; a failed fit keeps the previous one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jobs.refit
from analytics.detector import DetectorModel
from jobs.refit import ModelReader, refit_all
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.sources.demo_source import DemoSource
from vigil.store import Store

NOW = pd.Timestamp("2026-11-20 12:00")


@pytest.fixture
def estate(store: Store) -> Store:
    """Two days of five demo series (enough for a daily cycle, quick to fit)."""
    source = DemoSource(seed=2)
    pulled = source.pull(NOW - pd.Timedelta(days=2), NOW)
    keys = pulled.catalog["series_key"].head(5)
    ingest(
        store,
        "demo",
        PullResult(
            pulled.samples[pulled.samples["series_key"].isin(keys)],
            pulled.catalog[pulled.catalog["series_key"].isin(keys)],
        ),
    )
    return store


def test_every_series_gets_a_model_with_window_params_and_quality(
    estate: Store, tmp_path: Path
) -> None:
    summary = refit_all(estate, tmp_path, training_days=2, step_seconds=60, now=NOW, n_jobs=1)
    series = estate.one("SELECT count(*) FROM series")
    assert (summary.fitted, summary.failed) == (series, 0)
    row = estate.df("SELECT * FROM models ORDER BY model_id LIMIT 1").iloc[0]
    assert row["status"] == "ok" and row["version"] == 1
    assert row["train_from"] >= NOW - pd.Timedelta(days=2) and row["train_to"] <= NOW
    assert json.loads(row["quality"])["training_points"] > 2000
    model = ModelReader().load(Path(row["artifact_path"]))
    assert model.params() == json.loads(row["params"])


def test_a_failed_fit_keeps_the_previous_model_and_is_reported(
    estate: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refit_all(estate, tmp_path, training_days=2, step_seconds=60, now=NOW, n_jobs=1)
    before = dict(estate.cursor.execute("SELECT series_id, model_id FROM baselines").fetchall())
    real_fit = jobs.refit.fit_detector

    def fit_failing_for_series_one(
        ts: np.ndarray, values: np.ndarray, step_seconds: int, **parts: object
    ) -> DetectorModel:
        if len(values) and values[0] == first_value:
            raise FloatingPointError("singular matrix")
        return real_fit(ts, values, step_seconds, **parts)

    first_value = estate.one(
        "SELECT value FROM samples WHERE series_id = 1 AND ts >= ? ORDER BY ts LIMIT 1",
        [(NOW - pd.Timedelta(days=2)).to_pydatetime()],
    )
    monkeypatch.setattr(jobs.refit, "fit_detector", fit_failing_for_series_one)
    summary = refit_all(estate, tmp_path, training_days=2, step_seconds=60, now=NOW, n_jobs=1)
    assert summary.failed == 1
    failed = estate.df("SELECT * FROM models WHERE status = 'failed'").iloc[0]
    assert failed["series_id"] == 1 and "singular matrix" in failed["error"]
    after = dict(estate.cursor.execute("SELECT series_id, model_id FROM baselines").fetchall())
    assert after[1] == before[1]  # evaluation keeps using the last good model
    assert all(after[s] != before[s] for s in after if s != 1)
    assert estate.one("SELECT max(version) FROM models WHERE series_id = 2") == 2


def test_the_pooled_forest_is_stored_once_and_loaded_once(estate: Store, tmp_path: Path) -> None:
    refit_all(estate, tmp_path, training_days=2, step_seconds=60, now=NOW, n_jobs=1)
    parts = list((tmp_path / "shared").iterdir())
    assert len(parts) == 1
    paths = [Path(p) for (p,) in estate.cursor.execute(
        "SELECT artifact_path FROM models WHERE status = 'ok'"
    ).fetchall()]  # fmt: skip
    assert all(p.stat().st_size < parts[0].stat().st_size / 4 for p in paths)
    reader = ModelReader()
    forests = {id(reader.load(p).forest.forest) for p in paths}
    assert len(forests) == 1  # one object: the batch scorer walks it once per tick
    parts[0].unlink()
    with pytest.raises(FileNotFoundError, match=r"needs .*part, which is missing"):
        ModelReader().load(paths[0])
