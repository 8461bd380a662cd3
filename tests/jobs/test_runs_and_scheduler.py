from __future__ import annotations

import time

import pytest

from jobs.runs import recorded_run
from jobs.scheduler import build_scheduler
from vigil.store import Store


def test_successful_run_is_recorded_with_rows(store: Store) -> None:
    with recorded_run(store, "pull") as run:
        run.rows = 42
    row = store.df("SELECT job, status, rows, error, ended_at FROM job_runs").iloc[0]
    assert (row["job"], row["status"], row["rows"]) == ("pull", "ok", 42)
    assert row["error"] is None and row["ended_at"] is not None


def test_failed_run_is_recorded_with_its_error(store: Store) -> None:
    with pytest.raises(ValueError), recorded_run(store, "refit"):
        raise ValueError("source unreachable")
    row = store.df("SELECT status, error FROM job_runs").iloc[0]
    assert row["status"] == "failed"
    assert "source unreachable" in row["error"]


def test_a_failing_job_does_not_stop_the_others(store: Store) -> None:
    def broken() -> int:
        raise RuntimeError("always fails")

    scheduler = build_scheduler(store, {"broken": (1, broken), "healthy": (1, lambda: 1)})
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            counts = dict(
                store.cursor.execute(
                    "SELECT job || ':' || status, count(*) FROM job_runs GROUP BY ALL"
                ).fetchall()
            )
            if counts.get("healthy:ok", 0) >= 2 and counts.get("broken:failed", 0) >= 2:
                break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert counts.get("healthy:ok", 0) >= 2
    assert counts.get("broken:failed", 0) >= 2
