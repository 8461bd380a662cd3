"""APScheduler wiring: one instance of each job at a time, misfires coalesced, and a
job's failure recorded and logged without stopping the others."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from jobs.runs import recorded_run
from vigil.store import Store

log = logging.getLogger(__name__)

JobBody = Callable[[], int]
# Jobs that also run soon after the scheduler starts, not one interval later (the
# knowledge base should answer from the current runbooks right after a (re)start), with
# the seconds they wait first: the UI's first page loads get the machine before Chroma
# opens and the runbooks are embedded.
RUN_AT_START = {"reindex": 10}
REINDEX_INTERVAL_SECONDS = 600


def _guarded(store: Store, name: str, body: JobBody) -> Callable[[], None]:
    def run() -> None:
        try:
            with recorded_run(store, name) as record:
                record.rows = int(body() or 0)
        except Exception:
            log.exception("job %s failed", name)

    return run


def build_scheduler(store: Store, jobs: dict[str, tuple[int, JobBody]]) -> BackgroundScheduler:
    """``jobs`` maps a job name to (interval in seconds, body returning rows touched)."""
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    for name, (interval, body) in jobs.items():
        first = ({"next_run_time": datetime.now(UTC) + timedelta(seconds=RUN_AT_START[name])}
                 if name in RUN_AT_START else {})  # fmt: skip
        scheduler.add_job(
            _guarded(store, name, body), "interval", seconds=interval, id=name, **first
        )
    return scheduler
