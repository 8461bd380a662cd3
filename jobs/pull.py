"""The pull job: bring every source up to now, from its watermark, in bounded chunks."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from vigil.clock import utc_now
from vigil.ingest import ingest
from vigil.sources.base import Source
from vigil.store import Store

log = logging.getLogger(__name__)

CHUNK = pd.Timedelta(days=1)
Progress = Callable[[float, str], None]


def watermark(store: Store, source: str) -> pd.Timestamp | None:
    value = store.one("SELECT ts FROM watermarks WHERE source = ? AND key = 'pull'", [source])
    return pd.Timestamp(value).as_unit("ns") if value is not None else None


def _set_watermark(store: Store, source: str, ts: pd.Timestamp) -> None:
    store.execute(
        "INSERT OR REPLACE INTO watermarks VALUES (?, 'pull', ?)", [source, ts.to_pydatetime()]
    )


def _record_health(store: Store, source: str, error: str | None) -> None:
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
    else:
        store.execute(
            """
            INSERT INTO source_health (source, last_error_at, last_error, updated_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET last_error_at = excluded.last_error_at,
                last_error = excluded.last_error, updated_at = excluded.updated_at
            """,
            [source, now, error, now],
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
    resumes where it stopped and re-pulling never duplicates samples.
    """
    now = now if now is not None else utc_now()
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
