"""The demo estate as a pull source: samples, catalog and its scripted incidents.

Incidents are recorded as they unfold: one still running at the end of a pull is stored
with the pull's end as its end so far, and updated by the next pull.
"""

from __future__ import annotations

import pandas as pd

from vigil.sources.base import PullResult, SourceIncident
from vigil.sources.demo import DemoEstate


class DemoSource:
    """Streams :class:`DemoEstate`; the first pull backfills ``backfill_days``."""

    name = "demo"

    def __init__(self, seed: int = 1, step_seconds: int = 60, backfill_days: int = 14) -> None:
        self.estate = DemoEstate(seed=seed, step_seconds=step_seconds)
        self.backfill_days = backfill_days

    def catalog(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "series_key": s.key,
                    "metric": s.metric,
                    "labels": dict(s.labels),
                    "unit": s.unit,
                    "service": s.service,
                    "host": s.host,
                }
                for s in self.estate.series()
            ]
        )

    def backfill_start(self, now: pd.Timestamp) -> pd.Timestamp:
        return now - pd.Timedelta(days=self.backfill_days)

    def pull(self, start: pd.Timestamp, end: pd.Timestamp) -> PullResult:
        incidents = [
            SourceIncident(
                incident_id=i.incident_id,
                kind=i.kind,
                title=i.title,
                service=i.service,
                series_keys=tuple(i.series_keys),
                affected_services=tuple(i.affected_services),
                start=i.start,
                end=min(i.end, end),
                cause=i.cause if i.end <= end else "",
                fix=i.fix if i.end <= end else "",
            )
            for i in self.estate.incidents(start, end)
        ]
        return PullResult(self.estate.samples(start, end), self.catalog(), incidents)
