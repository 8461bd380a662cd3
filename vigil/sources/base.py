"""What every metric source provides: a catalog of series and samples for a time window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

SAMPLE_COLUMNS = ("series_key", "ts", "value")
CATALOG_COLUMNS = ("series_key", "metric", "labels", "unit", "service", "host")


@dataclass(frozen=True)
class SourceIncident:
    """Ground truth a source knows about (the demo estate's scripted incidents)."""

    incident_id: str
    kind: str
    title: str
    service: str
    series_keys: tuple[str, ...]
    affected_services: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    cause: str = ""  # what the responders found, once it is over
    fix: str = ""


@dataclass
class PullResult:
    """Samples and catalog rows of one pull; incidents only for sources that have ground truth."""

    samples: pd.DataFrame
    catalog: pd.DataFrame
    incidents: list[SourceIncident] = field(default_factory=list)


class Source(Protocol):
    """A metric source. ``pull`` returns samples with timestamps in [start, end)."""

    name: str

    def pull(self, start: pd.Timestamp, end: pd.Timestamp) -> PullResult: ...

    def backfill_start(self, now: pd.Timestamp) -> pd.Timestamp:
        """Where the first pull starts when no watermark exists yet."""
        ...
