"""Scoring in the engine: ticks scored across series equal each series scored alone; every
sample is scored once; late samples and new models rebuild the live scorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.detector import score_series
from jobs.refit import refit_all, training_sets
from jobs.scoring import ModelCache, score_window
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.sources.demo_source import DemoSource
from vigil.store import Store

NOW = pd.Timestamp("2026-11-20 12:00")
START = NOW - pd.Timedelta(hours=1)  # the first tick's window reaches back an hour
LATE = pd.Timestamp("2026-11-20 13:07")  # a sample held back, to arrive after its successors


def _pulled(start: pd.Timestamp, end: pd.Timestamp) -> PullResult:
    pulled = DemoSource(seed=3).pull(start, end)
    keys = pulled.catalog["series_key"].head(6)
    return PullResult(
        pulled.samples[pulled.samples["series_key"].isin(keys)],
        pulled.catalog[pulled.catalog["series_key"].isin(keys)],
    )


@pytest.fixture
def fitted(store: Store, tmp_path: Path) -> Store:
    """Two days of six demo series with models, then three more hours not yet scored."""
    ingest(store, "demo", _pulled(NOW - pd.Timedelta(days=2), NOW))
    refit_all(store, tmp_path / "models", training_days=2, step_seconds=60, now=NOW, n_jobs=1)
    later = _pulled(NOW, NOW + pd.Timedelta(hours=3))
    later.samples.drop(later.samples.index[later.samples["ts"] == LATE][:1], inplace=True)
    ingest(store, "demo", later)
    return store


def _scores(store: Store) -> pd.DataFrame:
    return store.df("SELECT * FROM scores ORDER BY series_id, ts")


def _alone(store: Store, cache: ModelCache) -> pd.DataFrame:
    """Each series' detector over its whole history: what the scores must be."""
    models = cache.current(store)
    frames = [
        score_series(models[sid], ts, values, score_from=np.datetime64(START, "ns")).assign(
            series_id=sid
        )
        for sid, ts, values in training_sets(store, NOW - pd.Timedelta(days=1), LATE.ceil("D"))
    ]
    return pd.concat(frames, ignore_index=True)


def test_ticks_scored_across_series_equal_each_series_scored_alone(fitted: Store) -> None:
    cache = ModelCache()
    tick = pd.Timedelta(minutes=2)
    for start in pd.date_range(NOW, NOW + pd.Timedelta(hours=3) - tick, freq=tick):
        score_window(fitted, cache, start - pd.Timedelta(hours=1), start + tick)
    assert cache.live is not None  # the live scorer did the work
    got = _scores(fitted)
    want = (
        _alone(fitted, cache)
        .set_index(["series_id", "ts"])
        .loc[list(zip(got["series_id"], got["ts"], strict=True))]
    )
    assert len(got) == 6 * 240 - 1 and got["score"].notna().mean() > 0.99
    for column in ("expected", "lower", "upper", "score"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9, equal_nan=True)


def test_each_sample_is_scored_once_and_a_late_one_is_scored_when_it_arrives(
    fitted: Store,
) -> None:
    cache = ModelCache()
    end = NOW + pd.Timedelta(hours=3)
    long_stretch = score_window(fitted, cache, NOW, end)  # three hours: series by series
    assert long_stretch == 6 * 180 - 1
    assert score_window(fitted, cache, NOW, end) == 0  # nothing new: nothing rescored
    before = _scores(fitted)
    late = _pulled(LATE, LATE + pd.Timedelta(minutes=1))
    ingest(fitted, "demo", late)
    assert score_window(fitted, cache, NOW, end) == 1  # the others at LATE were there
    after = _scores(fitted)
    merged = after.merge(before, how="left", indicator=True)
    assert (merged["_merge"] == "both").sum() == len(before)  # nothing else touched
    row = merged[merged["_merge"] == "left_only"].iloc[0]
    assert row["ts"] == LATE
    want = _alone(fitted, cache)
    want = want[(want["series_id"] == row["series_id"]) & (want["ts"] == LATE)].iloc[0]
    assert row["score"] == pytest.approx(want["score"], rel=1e-9)


def test_a_refit_replaces_the_live_scorer(fitted: Store, tmp_path: Path) -> None:
    cache = ModelCache()
    score_window(fitted, cache, NOW, NOW + pd.Timedelta(minutes=2))
    first = cache.live
    assert first is not None
    refit_all(fitted, tmp_path / "again", training_days=2, step_seconds=60,
              now=NOW + pd.Timedelta(hours=1), n_jobs=1)  # fmt: skip
    score_window(fitted, cache, NOW + pd.Timedelta(minutes=2), NOW + pd.Timedelta(minutes=4))
    assert cache.live is not first and cache.live.model_ids == cache.model_ids()
    assert set(cache.live.model_ids.values()).isdisjoint(first.model_ids.values())
    assert set(cache._models) == set(cache.model_ids().values())  # replaced models let go
