"""Read services for the Jobs & sources page: is every source delivering, and every job running?

A source is ``down`` as soon as its last pull failed after its last success (the pull job
records the error on its next run, so the page turns red within one pull interval), or
when it was pulled but never succeeded; ``lagging`` when pulls succeed but its newest
sample falls behind now by :data:`LAG_INTERVALS` pull intervals or more; ``ok`` otherwise.
A source known only from its series (an imported file, never pulled) is ``idle``.

Like :mod:`vigil.queries`, timestamps are UTC and tz-naive and windows are half-open on
the left: ``start < ts <= end``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vigil.store import Store

LAG_INTERVALS = 3
"""A source whose newest sample is this many pull intervals old or more is lagging."""

SOURCE_STATUSES = ("down", "lagging", "idle", "ok")
"""Worst first: the order the page lists sources in."""

JOB_STATUSES = ("running", "ok", "failed")

SOURCE_COLUMNS = [
    "source", "status", "last_success", "last_error_at", "last_error", "newest_sample",
    "lag_seconds", "series_count",
]  # fmt: skip


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def _status(frame: pd.DataFrame, pull_interval_seconds: int) -> pd.Series:
    """Vectorised status rule; see the module docstring."""
    pulled = frame["pulled"].astype(bool)
    success, error = frame["last_success"], frame["last_error_at"]
    down = pulled & (success.isna() | (error.notna() & (error > success)))
    lagging = frame["lag_seconds"].isna() | (
        frame["lag_seconds"] >= LAG_INTERVALS * pull_interval_seconds
    )
    status = pd.Series("ok", index=frame.index, dtype=object)
    status = status.mask(lagging, "lagging")
    status = status.mask(down, "down")
    return status.mask(~pulled, "idle")


def source_health(store: Store, now: pd.Timestamp, pull_interval_seconds: int) -> pd.DataFrame:
    """One row per source (pulled or only known from its series), worst status first.

    The newest sample is the one the pull job recorded; for a source it did not record
    one for, it is computed from the samples, so an older data dir still shows its lag.
    """
    frame = store.df(
        """
        WITH names AS (SELECT source FROM source_health UNION SELECT source FROM series),
        counts AS (SELECT source, count(*) AS series_count FROM series GROUP BY source),
        computed AS (
            SELECT se.source, max(sa.ts) AS newest
            FROM samples sa JOIN series se USING (series_id)
            WHERE se.source IN (
                SELECT n.source FROM names n LEFT JOIN source_health h USING (source)
                WHERE h.newest_sample IS NULL)
            GROUP BY se.source
        )
        SELECT n.source, h.source IS NOT NULL AS pulled, h.last_success, h.last_error_at,
               h.last_error, coalesce(h.newest_sample, c.newest) AS newest_sample,
               coalesce(k.series_count, 0) AS series_count
        FROM names n
        LEFT JOIN source_health h USING (source)
        LEFT JOIN counts k USING (source)
        LEFT JOIN computed c USING (source)
        """
    )
    if frame.empty:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    for column in ("last_success", "last_error_at", "newest_sample"):
        frame[column] = pd.to_datetime(frame[column])
    lag = (pd.Timestamp(now) - frame["newest_sample"]).dt.total_seconds()
    frame["lag_seconds"] = lag.clip(lower=0)
    frame["series_count"] = frame["series_count"].astype(int)
    frame["status"] = _status(frame, pull_interval_seconds)
    rank = frame["status"].map(SOURCE_STATUSES.index)
    frame = frame.assign(_rank=rank).sort_values(["_rank", "source"])
    return frame[SOURCE_COLUMNS].reset_index(drop=True)


def job_summary(store: Store, now: pd.Timestamp, window: pd.Timedelta) -> pd.DataFrame:
    """Per job that ever ran: its last run, and runs, failures and durations in the window.

    Durations (seconds) count finished runs only; a job that did not run in the window
    still appears with its last run and zero counts, which is itself worth seeing.
    """
    return store.df(
        """
        WITH last AS (
            SELECT job, started_at AS last_started, ended_at AS last_ended,
                   status AS last_status, rows AS last_rows, error AS last_error
            FROM job_runs
            QUALIFY row_number() OVER (PARTITION BY job ORDER BY started_at DESC, run_id DESC) = 1
        ),
        win AS (
            SELECT job, count(*) AS runs,
                   count(*) FILTER (WHERE status = 'failed') AS failures,
                   avg(epoch(ended_at - started_at)) AS mean_seconds,
                   quantile_cont(epoch(ended_at - started_at), 0.95) AS p95_seconds
            FROM job_runs
            WHERE started_at > ? AND started_at <= ?
            GROUP BY job
        )
        SELECT l.job, l.last_started, l.last_ended, l.last_status, l.last_rows, l.last_error,
               coalesce(w.runs, 0) AS runs, coalesce(w.failures, 0) AS failures,
               w.mean_seconds, w.p95_seconds
        FROM last l LEFT JOIN win w USING (job)
        ORDER BY l.job
        """,
        [_dt(now - window), _dt(now)],
    )


def job_runs(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Runs that overlap ``(start, end]``, oldest first; a running one has no ``ended_at``."""
    return store.df(
        """
        SELECT run_id, job, started_at, ended_at, status, rows, error,
               epoch(ended_at - started_at) AS duration_seconds
        FROM job_runs
        WHERE started_at <= ? AND (ended_at IS NULL OR ended_at > ?)
        ORDER BY started_at, run_id
        """,
        [_dt(end), _dt(start)],
    )


def last_runs(
    store: Store,
    n: int = 50,
    jobs: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The latest ``n`` runs, newest first; empty or missing filters select everything."""
    return store.df(
        """
        SELECT run_id, job, started_at, ended_at, status, rows, error,
               epoch(ended_at - started_at) AS duration_seconds
        FROM job_runs
        WHERE (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], job))
          AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], status))
        ORDER BY started_at DESC, run_id DESC
        LIMIT ?
        """,
        [*_filter(jobs), *_filter(statuses), int(n)],
    )


def _filter(values: Sequence[str] | None) -> list[object]:
    chosen = [str(v) for v in values] if values else None
    return [chosen, chosen]


def job_names(store: Store) -> list[str]:
    """Every job that has a recorded run, for the page's filter."""
    return store.df("SELECT DISTINCT job FROM job_runs ORDER BY job")["job"].tolist()
