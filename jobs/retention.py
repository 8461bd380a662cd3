"""Retention and 5-minute rollups: raw samples expire, their shape survives in ``samples_5m``.

Buckets are 5 minutes, labelled by their start, and cover ``[bucket, bucket + 5m)``.
Every cut-off is floored to a bucket boundary, so deleting raw samples never splits a
bucket: a bucket is either wholly raw (and can be recomputed from raw at any time) or
wholly rolled up. Recomputing a bucket replaces it, which makes every run idempotent;
buckets without raw rows are never touched, so rolled-up history survives reruns.

Scheduling (one job, ``retention_interval_seconds``, default hourly): :func:`run_retention`
rolls up what is new since the watermark, then applies retention. Rolling up more often
(every few minutes via :func:`rollup_since_watermark`) is cheap but not needed for charts:
:func:`vigil.queries.series_window` aggregates the raw part of a window on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from vigil.store import Store

BUCKET = pd.Timedelta(minutes=5)
WATERMARK = ("rollup", "5m")
LATE_OVERLAP = pd.Timedelta(minutes=15)
"""How far before the watermark each run recomputes, for samples that arrive a little late
(a pull that lags, a host agent that catches up). Anything later is still rolled up before
it is deleted, by :func:`apply_retention`."""

_AGGREGATE = """
    INSERT OR REPLACE INTO samples_5m (series_id, bucket, min, max, mean, count)
    SELECT series_id, time_bucket(INTERVAL 5 minutes, ts) AS bucket,
           min(value), max(value), avg(value), count(value)
    FROM samples
    WHERE ts >= ? AND ts < ? AND value IS NOT NULL AND NOT isnan(value)
    GROUP BY ALL
"""


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run did, for the job log and ``job_runs.rows``."""

    buckets_written: int
    samples_deleted: int
    scores_deleted: int
    rollups_deleted: int

    @property
    def rows(self) -> int:
        return self.buckets_written + self.samples_deleted + self.rollups_deleted


def floor_bucket(ts: pd.Timestamp) -> pd.Timestamp:
    """The start of the 5-minute bucket ``ts`` falls in."""
    return pd.Timestamp(ts).floor(BUCKET).as_unit("us")


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def _count(cur: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    rows = cur.execute(sql, params).fetchall()
    return int(rows[0][0]) if rows else 0


def _aggregate(cur: duckdb.DuckDBPyConnection, since: pd.Timestamp, until: pd.Timestamp) -> int:
    """(Re)compute every bucket with raw samples in [since, until); both on bucket bounds."""
    if until <= since:
        return 0
    return _count(cur, _AGGREGATE, [_dt(since), _dt(until)])


def rollup(store: Store, since: pd.Timestamp, until: pd.Timestamp) -> int:
    """Roll up the complete buckets between ``since`` and ``until``; returns buckets written.

    The bucket holding ``since`` is recomputed whole; the bucket holding ``until`` is left
    for a later run, since samples for it may still arrive.
    """
    with store.transaction() as cur:
        return _aggregate(cur, floor_bucket(since), floor_bucket(until))


def rollup_watermark(store: Store) -> pd.Timestamp | None:
    """The end of the last complete bucket rolled up by :func:`rollup_since_watermark`."""
    value = store.one("SELECT ts FROM watermarks WHERE source = ? AND key = ?", list(WATERMARK))
    return None if value is None else pd.Timestamp(value)


def rollup_since_watermark(store: Store, now: pd.Timestamp) -> int:
    """Roll up what is new since the last run (with :data:`LATE_OVERLAP`), move the watermark."""
    until = floor_bucket(now)
    with store.transaction() as cur:
        rows = cur.execute(
            "SELECT ts FROM watermarks WHERE source = ? AND key = ?", list(WATERMARK)
        ).fetchall()
        if rows:
            since = floor_bucket(pd.Timestamp(rows[0][0]) - LATE_OVERLAP)
        else:
            oldest = cur.execute("SELECT min(ts) FROM samples").fetchall()[0][0]
            since = until if oldest is None else floor_bucket(pd.Timestamp(oldest))
        written = _aggregate(cur, since, until)
        mark = max(until, pd.Timestamp(rows[0][0])) if rows else until
        cur.execute("INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?)", [*WATERMARK, _dt(mark)])
    return written


def apply_retention(
    store: Store, now: pd.Timestamp, raw_days: int, rollup_days: int
) -> RetentionResult:
    """Roll up what is about to expire, then delete expired raw samples, scores and rollups.

    One transaction: a crash leaves either everything as it was or everything done, so a
    raw sample is never deleted before its bucket exists. Cut-offs are floored to bucket
    boundaries (see the module docstring).
    """
    raw_cutoff = floor_bucket(now - pd.Timedelta(days=raw_days))
    rollup_cutoff = floor_bucket(now - pd.Timedelta(days=rollup_days))
    with store.transaction() as cur:
        oldest = cur.execute("SELECT min(ts) FROM samples WHERE ts < ?", [_dt(raw_cutoff)])
        first = oldest.fetchall()[0][0]
        since = raw_cutoff if first is None else max(floor_bucket(first), rollup_cutoff)
        written = _aggregate(cur, since, raw_cutoff)
        samples = _count(cur, "DELETE FROM samples WHERE ts < ?", [_dt(raw_cutoff)])
        scores = _count(cur, "DELETE FROM scores WHERE ts < ?", [_dt(raw_cutoff)])
        rollups = _count(cur, "DELETE FROM samples_5m WHERE bucket < ?", [_dt(rollup_cutoff)])
    return RetentionResult(written, samples, scores, rollups)


def run_retention(
    store: Store, now: pd.Timestamp, raw_days: int, rollup_days: int
) -> RetentionResult:
    """The scheduled job: roll up what is new, then apply retention."""
    fresh = rollup_since_watermark(store, now)
    result = apply_retention(store, now, raw_days, rollup_days)
    return RetentionResult(
        fresh + result.buckets_written,
        result.samples_deleted,
        result.scores_deleted,
        result.rollups_deleted,
    )
