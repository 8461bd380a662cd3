"""Every job run is recorded (job, start, end, status, rows, error), success or not.

The row in ``job_runs`` is the durable history; the ``vigil_job_runs_total`` counter and
``vigil_job_duration_seconds`` histogram are the same runs as Prometheus metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vigil.clock import utc_now
from vigil.metrics import JOB_DURATION, JOB_RUNS
from vigil.store import Store

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    run_id: int
    rows: int = 0


@contextmanager
def recorded_run(store: Store, job: str) -> Iterator[RunRecord]:
    """Record a run; a failure is stored with its message and re-raised to the caller."""
    run_id = store.one(
        "INSERT INTO job_runs (job, started_at, status) VALUES (?, ?, 'running') RETURNING run_id",
        [job, utc_now().to_pydatetime()],
    )
    record = RunRecord(int(run_id))
    started = time.perf_counter()
    try:
        yield record
    except Exception as exc:
        _observe(job, "failed", started)
        store.execute(
            "UPDATE job_runs SET ended_at = ?, status = 'failed', rows = ?, error = ? "
            "WHERE run_id = ?",
            [utc_now().to_pydatetime(), record.rows, f"{type(exc).__name__}: {exc}", record.run_id],
        )
        raise
    _observe(job, "ok", started)
    store.execute(
        "UPDATE job_runs SET ended_at = ?, status = 'ok', rows = ? WHERE run_id = ?",
        [utc_now().to_pydatetime(), record.rows, record.run_id],
    )


def _observe(job: str, status: str, started: float) -> None:
    JOB_RUNS.labels(job, status).inc()
    JOB_DURATION.labels(job).observe(time.perf_counter() - started)
