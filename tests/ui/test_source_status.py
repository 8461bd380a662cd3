"""Source health and job-run services, against a real store with crafted rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from vigil import source_status
from vigil.store import Store

NOW = pd.Timestamp("2025-03-01 12:00:00")
PULL = 60  # seconds
MIN = pd.Timedelta(minutes=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "data")
    yield store
    store.close()


def _py(ts: pd.Timestamp | None) -> object:
    return None if ts is None else ts.to_pydatetime()


def _health(
    store: Store,
    source: str,
    success: pd.Timestamp | None = None,
    error_at: pd.Timestamp | None = None,
    error: str | None = None,
    newest: pd.Timestamp | None = None,
) -> None:
    """What the pull job leaves behind, written as an upsert like it does."""
    store.execute(
        "INSERT OR REPLACE INTO source_health (source, last_success, last_error_at, last_error, "
        "newest_sample, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [source, _py(success), _py(error_at), error, _py(newest), _py(NOW)],
    )


def _series(store: Store, sid: int, source: str, newest: pd.Timestamp, points: int = 5) -> None:
    store.execute(
        "INSERT INTO series (series_id, series_key, metric, labels, source) "
        "VALUES (?, ?, 'up', '{}', ?)",
        [sid, f'up{{id="{sid}"}}', source],
    )
    for ts in pd.date_range(end=newest, periods=points, freq="1min"):
        store.execute("INSERT INTO samples VALUES (?, ?, 1.0)", [sid, ts.to_pydatetime()])


def _run(
    store: Store,
    job: str,
    started: pd.Timestamp,
    seconds: float | None,
    status: str = "ok",
    error: str | None = None,
) -> None:
    ended = None if seconds is None else started + pd.Timedelta(seconds=seconds)
    store.execute(
        "INSERT INTO job_runs (job, started_at, ended_at, status, rows, error) "
        "VALUES (?, ?, ?, ?, 3, ?)",
        [job, _py(started), _py(ended), status, error],
    )


def _row(store: Store, source: str) -> pd.Series:
    health = source_status.source_health(store, NOW, PULL)
    return health.set_index("source").loc[source]


def test_empty_store_has_no_sources(store: Store) -> None:
    health = source_status.source_health(store, NOW, PULL)
    assert health.empty and list(health.columns) == source_status.SOURCE_COLUMNS


def test_error_newer_than_success_is_down_then_a_later_success_is_ok(store: Store) -> None:
    _series(store, 1, "prom", NOW - 2 * MIN)
    _health(store, "prom", success=NOW - 2 * MIN, newest=NOW - 2 * MIN)
    assert _row(store, "prom").status == "ok"

    _health(store, "prom", NOW - 2 * MIN, NOW - MIN, "ConnectError: refused", NOW - 2 * MIN)
    down = _row(store, "prom")
    assert down.status == "down" and down.last_error == "ConnectError: refused"

    _health(store, "prom", NOW, NOW - MIN, "ConnectError: refused", NOW - pd.Timedelta(seconds=30))
    recovered = _row(store, "prom")
    assert recovered.status == "ok" and recovered.lag_seconds == 30
    assert recovered.last_error == "ConnectError: refused"  # kept for the card, no longer red


def test_pulled_but_never_succeeded_is_down(store: Store) -> None:
    _health(store, "prom", error_at=NOW - MIN, error="HTTP 503")
    row = _row(store, "prom")
    assert row.status == "down" and row.series_count == 0 and pd.isna(row.lag_seconds)


def test_success_with_an_old_newest_sample_is_lagging(store: Store) -> None:
    _health(store, "fresh", success=NOW, newest=NOW - (3 * PULL - 1) * pd.Timedelta(seconds=1))
    _health(store, "behind", success=NOW, newest=NOW - 3 * PULL * pd.Timedelta(seconds=1))
    _health(store, "empty", success=NOW)  # pulls succeed yet nothing has ever arrived
    health = source_status.source_health(store, NOW, PULL).set_index("source")
    assert health["status"].to_dict() == {"fresh": "ok", "behind": "lagging", "empty": "lagging"}


def test_lag_is_computed_from_samples_when_the_pull_did_not_record_it(store: Store) -> None:
    _series(store, 1, "prom", NOW - 5 * MIN)
    _series(store, 2, "prom", NOW - 7 * MIN)
    _series(store, 3, "other", NOW - MIN)
    _health(store, "prom", success=NOW)
    row = _row(store, "prom")
    assert row.newest_sample == NOW - 5 * MIN and row.lag_seconds == 300
    assert row.series_count == 2 and row.status == "lagging"


def test_source_known_only_from_its_series_is_idle_and_sorted_after_problems(store: Store) -> None:
    _series(store, 1, "imported", NOW - MIN)
    _health(store, "prom", error_at=NOW, error="boom")
    _health(store, "good", success=NOW, newest=NOW)
    health = source_status.source_health(store, NOW, PULL)
    assert health["source"].tolist() == ["prom", "imported", "good"]
    assert health["status"].tolist() == ["down", "idle", "ok"]


def test_job_summary_counts_runs_failures_and_duration_percentiles(store: Store) -> None:
    for i in range(1, 21):  # 1..20 s, two of them failed
        status = "failed" if i in (4, 9) else "ok"
        _run(store, "pull", NOW - i * MIN, i, status, "boom" if status == "failed" else None)
    _run(store, "pull", NOW - pd.Timedelta(hours=30), 500)  # outside the window
    _run(store, "retention", NOW - pd.Timedelta(hours=30), 2.0, "failed", "disk full")
    summary = source_status.job_summary(store, NOW, pd.Timedelta(hours=24)).set_index("job")

    pull = summary.loc["pull"]
    assert (pull.runs, pull.failures) == (20, 2)
    assert pull.mean_seconds == pytest.approx(10.5)
    assert pull.p95_seconds == pytest.approx(19.05)  # linear interpolation, like numpy
    assert pull.last_started == NOW - MIN and pull.last_status == "ok" and pull.last_rows == 3

    retention = summary.loc["retention"]
    assert (retention.runs, retention.failures) == (0, 0)
    assert retention.last_status == "failed" and retention.last_error == "disk full"


def test_job_runs_returns_runs_overlapping_the_window(store: Store) -> None:
    start = NOW - pd.Timedelta(hours=1)
    _run(store, "refit", start - 10 * MIN, 11 * 60)  # began before, ended inside
    _run(store, "pull", start - 10 * MIN, 60)  # over before the window
    _run(store, "evaluate", NOW - MIN, None, "running")
    _run(store, "snapshot", NOW + MIN, 1)  # after the window
    runs = source_status.job_runs(store, start, NOW)
    assert runs["job"].tolist() == ["refit", "evaluate"]
    assert runs["duration_seconds"].iloc[0] == 660 and pd.isna(runs["duration_seconds"].iloc[1])


def test_last_runs_filters_by_job_and_status_newest_first(store: Store) -> None:
    for i in range(60):
        _run(store, "pull" if i % 2 else "evaluate", NOW - i * MIN, 1, "failed" if i % 3 else "ok")
    assert len(source_status.last_runs(store)) == 50
    pulls = source_status.last_runs(store, 50, jobs=["pull"], statuses=[])
    assert set(pulls["job"]) == {"pull"} and len(pulls) == 30
    assert pulls["started_at"].is_monotonic_decreasing
    failed_pulls = source_status.last_runs(store, 50, jobs=["pull"], statuses=["failed"])
    assert set(failed_pulls["status"]) == {"failed"} and len(failed_pulls) == 20
    assert source_status.job_names(store) == ["evaluate", "pull"]
