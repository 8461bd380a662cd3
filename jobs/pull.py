"""The pull job: bring every source up to now, from its watermark, in bounded chunks.

A source that exposes ``partitions()`` (one per Prometheus query, say) gets a watermark per
partition, restarting each from its own watermark minus a small overlap: late-arriving
points are picked up and the store's ``INSERT OR IGNORE`` drops what is already there. A
failing partition is recorded and skipped; the others still advance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

from vigil.clock import utc_now
from vigil.ingest import ingest
from vigil.sources.base import PullResult, Source
from vigil.store import Store

log = logging.getLogger(__name__)

CHUNK = pd.Timedelta(days=1)
OVERLAP_STEPS = 2
DEFAULT_KEY = "pull"
Progress = Callable[[float, str], None]


@runtime_checkable
class PartitionedSource(Protocol):
    """A source pulled piece by piece, each piece with its own watermark."""

    name: str
    step_seconds: int
    chunk: pd.Timedelta

    def partitions(self) -> Sequence[str]: ...

    def pull_partition(self, key: str, start: pd.Timestamp, end: pd.Timestamp) -> PullResult: ...

    def backfill_start(self, now: pd.Timestamp) -> pd.Timestamp: ...


class PartialPullError(Exception):
    """Some partitions of a source failed; the others were pulled and stored."""

    def __init__(self, message: str, added: int) -> None:
        super().__init__(message)
        self.added = added


def watermark(store: Store, source: str, key: str = DEFAULT_KEY) -> pd.Timestamp | None:
    value = store.one("SELECT ts FROM watermarks WHERE source = ? AND key = ?", [source, key])
    return pd.Timestamp(value).as_unit("ns") if value is not None else None


def _set_watermark(store: Store, source: str, ts: pd.Timestamp, key: str = DEFAULT_KEY) -> None:
    store.execute(
        "INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?)", [source, key, ts.to_pydatetime()]
    )


def _record_health(
    store: Store, source: str, error: str | None, warning: str | None = None
) -> None:
    """Record a pull's outcome; a warning is kept as the last error text of a healthy pull."""
    now = utc_now().to_pydatetime()
    if error is None:
        store.execute(
            """
            INSERT INTO source_health (source, last_success, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET last_success = excluded.last_success,
                updated_at = excluded.updated_at
            """,
            [source, now, now],
        )
    text = error if error is not None else (f"warning: {warning}" if warning else None)
    if text is not None:
        store.execute(
            """
            INSERT INTO source_health (source, last_error_at, last_error, updated_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET last_error_at = excluded.last_error_at,
                last_error = excluded.last_error, updated_at = excluded.updated_at
            """,
            [source, now, text, now],
        )
    store.execute(
        """
        UPDATE source_health SET
            series_count = (SELECT count(*) FROM series WHERE source = ?),
            newest_sample = (SELECT max(ts) FROM samples JOIN series USING (series_id)
                             WHERE source = ?)
        WHERE source = ?
        """,
        [source, source, source],
    )


def pull_source(
    store: Store,
    source: Source,
    step_seconds: int,
    now: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> int:
    """Pull ``source`` from its watermark (or its backfill start) up to now; returns new samples.

    The watermark advances after each chunk is stored, so a process killed mid-backfill
    resumes where it stopped and re-pulling never duplicates samples. A partitioned source
    is pulled at its own step (``step_seconds`` applies to the others).
    """
    now = now if now is not None else utc_now()
    if isinstance(source, PartitionedSource):
        return _pull_partitioned(store, source, now, progress)
    end = now.floor(f"{step_seconds}s") + pd.Timedelta(seconds=step_seconds)
    start = watermark(store, source.name) or source.backfill_start(now).floor(f"{step_seconds}s")
    total = 0
    try:
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + CHUNK, end)
            total += ingest(store, source.name, source.pull(chunk_start, chunk_end))
            _set_watermark(store, source.name, chunk_end)
            if progress is not None:
                done = (chunk_end - start) / max(end - start, pd.Timedelta(seconds=1))
                progress(float(done), f"{source.name}: {chunk_end:%Y-%m-%d %H:%M}")
            chunk_start = chunk_end
    except Exception as exc:
        _record_health(store, source.name, f"{type(exc).__name__}: {exc}")
        raise
    _record_health(store, source.name, None)
    return total


def _pull_partitioned(
    store: Store, source: PartitionedSource, now: pd.Timestamp, progress: Progress | None
) -> int:
    """Every partition in turn; raises :class:`PartialPullError` if any failed."""
    keys = list(source.partitions())
    total, errors, warnings = 0, [], []
    for index, key in enumerate(keys):
        try:
            added, found = _pull_partition(store, source, key, now)
            total += added
            warnings.extend(found)
        except Exception as exc:
            log.warning("pull of %s [%s] failed: %s", source.name, key, exc)
            errors.append(f"{type(exc).__name__}: {exc}")
            if getattr(exc, "unreachable", False) and index + 1 < len(keys):
                # the endpoint is down: its other queries would only wait out the same retries
                errors.append(f"{len(keys) - index - 1} more skipped while unreachable")
                break
        if progress is not None:
            progress((index + 1) / len(keys), f"{source.name}: {index + 1}/{len(keys)} queries")
    if errors:
        message = "; ".join(errors + warnings)
        _record_health(store, source.name, message)
        raise PartialPullError(f"{source.name}: {message}", total)
    _record_health(store, source.name, None, "; ".join(warnings) or None)
    return total


def _pull_partition(
    store: Store, source: PartitionedSource, key: str, now: pd.Timestamp
) -> tuple[int, list[str]]:
    step = pd.Timedelta(seconds=source.step_seconds)
    end = now.floor(step) + step
    mark = watermark(store, source.name, key)
    if mark is None:
        start = source.backfill_start(now).floor(step)
    else:
        start = (mark - OVERLAP_STEPS * step).floor(step)
    total, warnings = 0, []
    while start < end:
        chunk_end = min(start + source.chunk, end)
        result = source.pull_partition(key, start, chunk_end)
        total += ingest(store, source.name, result)
        _set_watermark(store, source.name, chunk_end, key)
        warnings.extend(getattr(result, "warnings", ()))
        start = chunk_end
    return total, warnings
