from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.retention import (
    apply_retention,
    rollup,
    rollup_since_watermark,
    rollup_watermark,
    run_retention,
)
from vigil import queries
from vigil.store import Store

START = pd.Timestamp("2026-01-01")
NOW = START + pd.Timedelta(days=4)


def _write(store: Store, frame: pd.DataFrame, table: str = "samples") -> None:
    cur = store.cursor
    cur.register("seed", frame)
    cur.execute(f"INSERT INTO {table} SELECT * FROM seed")
    cur.unregister("seed")


def _raw(minutes: int = 4 * 24 * 60, series: tuple[int, ...] = (1, 2)) -> pd.DataFrame:
    """Irregular samples (jittered seconds, gaps, a NaN) so buckets differ in size."""
    rng = np.random.default_rng(7)
    ts = START + pd.to_timedelta(np.arange(minutes) * 60 + rng.integers(0, 59, minutes), "s")
    frames = []
    for sid in series:
        values = rng.normal(10 * sid, 2, minutes)
        values[5] = np.nan
        keep = rng.random(minutes) > 0.1
        frames.append(pd.DataFrame({"series_id": sid, "ts": ts[keep], "value": values[keep]}))
    return pd.concat(frames, ignore_index=True)


def _expected(raw: pd.DataFrame) -> pd.DataFrame:
    """The rollup as pandas computes it: a groupby on 5-minute bucket starts."""
    grouped = raw.dropna(subset=["value"]).assign(bucket=raw["ts"].dt.floor("5min"))
    out = grouped.groupby(["series_id", "bucket"])["value"].agg(["min", "max", "mean", "count"])
    return out.reset_index()


def _rollups(store: Store) -> pd.DataFrame:
    frame = store.df(
        "SELECT series_id, bucket, min, max, mean, count FROM samples_5m ORDER BY series_id, bucket"
    )
    frame["bucket"] = frame["bucket"].astype("datetime64[us]")
    return frame


def _compare(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    expected = expected.astype({"bucket": "datetime64[us]", "count": "int64"})
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


def test_rollup_equals_a_pandas_groupby(store: Store) -> None:
    raw = _raw(minutes=600)
    _write(store, raw)
    rollup(store, START, START + pd.Timedelta(minutes=600))
    _compare(_rollups(store), _expected(raw))


def test_rollup_leaves_the_open_bucket_for_later(store: Store) -> None:
    raw = _raw(minutes=60)
    _write(store, raw)
    until = START + pd.Timedelta(minutes=32)  # mid-bucket: 30-35 is still open
    rollup(store, START, until)
    assert _rollups(store)["bucket"].max() == START + pd.Timedelta(minutes=25)


def test_rerunning_a_rollup_changes_nothing_and_late_samples_update_a_bucket(
    store: Store,
) -> None:
    raw = _raw(minutes=120)
    _write(store, raw)
    end = START + pd.Timedelta(minutes=120)
    rollup(store, START, end)
    first = _rollups(store)
    rollup(store, START, end)
    pd.testing.assert_frame_equal(first, _rollups(store))
    late = pd.DataFrame({"series_id": [1], "ts": [START + pd.Timedelta(seconds=59.5)],
                         "value": [1000.0]})  # fmt: skip
    _write(store, late)
    rollup(store, START, end)
    _compare(_rollups(store), _expected(pd.concat([raw, late], ignore_index=True)))


def test_watermark_rolls_up_only_what_is_new(store: Store) -> None:
    raw = _raw(minutes=600)
    _write(store, raw[raw["ts"] < START + pd.Timedelta(minutes=300)])
    assert rollup_since_watermark(store, START + pd.Timedelta(minutes=300)) == 2 * 60
    assert rollup_watermark(store) == START + pd.Timedelta(minutes=300)
    _write(store, raw[raw["ts"] >= START + pd.Timedelta(minutes=300)])
    written = rollup_since_watermark(store, START + pd.Timedelta(minutes=600))
    assert written == 2 * (60 + 3)  # 60 new buckets and the 15-minute overlap, per series
    _compare(_rollups(store), _expected(raw))


def test_retention_without_a_previous_rollup_loses_no_bucket(store: Store) -> None:
    raw = _raw()
    _write(store, raw)
    scores = raw[["series_id", "ts"]].assign(expected=1.0, lower=0.0, upper=2.0, score=0.1)
    _write(store, scores, "scores")
    now = NOW + pd.Timedelta(minutes=2, seconds=30)  # cut-offs are floored to a bucket
    result = apply_retention(store, now, raw_days=1, rollup_days=3)
    raw_cutoff = NOW - pd.Timedelta(days=1)
    rollup_cutoff = NOW - pd.Timedelta(days=3)
    assert store.one("SELECT min(ts) FROM samples") >= raw_cutoff
    assert store.one("SELECT count(*) FROM scores WHERE ts < ?", [raw_cutoff]) == 0
    deleted = raw[raw["ts"] < raw_cutoff]
    assert result.samples_deleted == len(deleted)
    assert result.scores_deleted == len(deleted)
    assert store.one("SELECT count(*) FROM samples") == len(raw) - len(deleted)
    expected = _expected(deleted)
    _compare(_rollups(store), expected[expected["bucket"] >= rollup_cutoff])


def test_retention_is_idempotent_and_expires_old_rollups(store: Store) -> None:
    _write(store, _raw())
    rollup_since_watermark(store, NOW)
    first = run_retention(store, NOW, raw_days=1, rollup_days=2)
    assert first.samples_deleted > 0 and first.rollups_deleted > 0
    before = _rollups(store)
    assert before["bucket"].min() == NOW - pd.Timedelta(days=2)
    again = run_retention(store, NOW, raw_days=1, rollup_days=2)
    assert (again.samples_deleted, again.scores_deleted, again.rollups_deleted) == (0, 0, 0)
    pd.testing.assert_frame_equal(before, _rollups(store))


def test_long_window_reads_rollups_where_raw_has_expired(store: Store) -> None:
    raw = _raw()
    _write(store, raw)
    apply_retention(store, NOW, raw_days=1, rollup_days=30)
    window = queries.series_window(store, [1], START, NOW)
    assert window.attrs["resolution"] == "5m"
    assert window["ts"].is_monotonic_increasing and not window["ts"].duplicated().any()
    expected = _expected(raw[raw["series_id"] == 1])
    expected = expected[expected["bucket"] > START - pd.Timedelta(minutes=5)]
    assert len(window) == len(expected)
    np.testing.assert_allclose(window["value"], expected["mean"])
    np.testing.assert_allclose(window["max"], expected["max"])


@pytest.mark.parametrize("days", [1, 3])
def test_short_window_older_than_retention_still_shows_buckets(store: Store, days: int) -> None:
    _write(store, _raw())
    apply_retention(store, NOW, raw_days=1, rollup_days=30)
    start = START + pd.Timedelta(hours=6)
    window = queries.series_window(store, [1, 2], start, start + pd.Timedelta(days=days))
    assert set(window["series_id"]) == {1, 2}
    assert (window["ts"] > start - pd.Timedelta(minutes=5)).all()
