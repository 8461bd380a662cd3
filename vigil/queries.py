"""Read services behind the web UI: every page reads Vigil's data through these functions.

Pages never hold SQL; they call a function here with the engine's store and render what
comes back. All SQL is parameterised. Timestamps are UTC and tz-naive like everything
stored, and windows are half-open on the left: ``start < ts <= end``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from vigil.store import Store

ANOMALY_THRESHOLD = 0.9
"""A score at or above this is an anomaly on the charts and turns a service amber."""

HEALTH_WINDOW = pd.Timedelta(minutes=15)
SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}
STATUSES = ("ok", "warning", "critical")

WINDOW_COLUMNS = ["series_id", "ts", "value", "expected", "lower", "upper", "score", "min", "max"]


@dataclass(frozen=True)
class AnomalySeries:
    """One of the most anomalous series right now, with what the wall draws of it."""

    series_id: int
    series_key: str
    metric: str
    service: str | None
    score: float
    frame: pd.DataFrame  # WINDOW_COLUMNS over the window, oldest first
    instance: str | None = None


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def _ids(series_ids: Sequence[int]) -> list[int]:
    return [int(s) for s in series_ids]


def newest_sample_ts(store: Store) -> pd.Timestamp | None:
    """When the newest sample was taken; the wall compares it with now to call data stale."""
    value = store.one("SELECT max(ts) FROM samples")
    return None if value is None else pd.Timestamp(value)


def is_stale(newest: pd.Timestamp | None, now: pd.Timestamp, stale_after_seconds: int) -> bool:
    """Data is stale when there is none or the newest sample is older than the limit."""
    return newest is None or (now - newest).total_seconds() > stale_after_seconds


def _health_status(frame: pd.DataFrame) -> pd.Series:
    """Red for a firing critical alert; amber for any other firing alert or an anomaly.

    Pending alerts are counted but do not colour a tile: they have not yet held for
    their rule's ``for`` and would make the wall flicker.
    """
    critical = frame["firing_critical"] > 0
    warning = (frame["firing"] > 0) | (frame["max_score"].fillna(0) >= ANOMALY_THRESHOLD)
    status = pd.Series("ok", index=frame.index)
    status = status.mask(warning, "warning")
    return status.mask(critical, "critical")


def estate_health(
    store: Store, now: pd.Timestamp, window: pd.Timedelta = HEALTH_WINDOW
) -> pd.DataFrame:
    """Per service: series, firing/pending alerts, worst severity, recent max score, status."""
    frame = store.df(
        """
        WITH svc AS (
            SELECT coalesce(service, host, 'other') AS service, count(*) AS series
            FROM series GROUP BY 1
        ),
        al AS (
            SELECT coalesce(service, 'other') AS service,
                   count(*) FILTER (WHERE state = 'firing') AS firing,
                   count(*) FILTER (WHERE state = 'pending') AS pending,
                   count(*) FILTER (WHERE state = 'firing' AND severity = 'critical')
                       AS firing_critical,
                   max(CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2
                       WHEN 'info' THEN 1 ELSE 0 END) AS severity_rank
            FROM alerts WHERE state IN ('pending', 'firing') GROUP BY 1
        ),
        sc AS (
            SELECT coalesce(s.service, s.host, 'other') AS service, max(c.score) AS max_score
            FROM scores c JOIN series s USING (series_id)
            WHERE c.ts > ? AND c.ts <= ? GROUP BY 1
        )
        SELECT service, coalesce(svc.series, 0) AS series,
               coalesce(al.firing, 0) AS firing, coalesce(al.pending, 0) AS pending,
               coalesce(al.firing_critical, 0) AS firing_critical,
               coalesce(al.severity_rank, 0) AS severity_rank, sc.max_score
        FROM svc FULL OUTER JOIN al USING (service) FULL OUTER JOIN sc USING (service)
        ORDER BY service
        """,
        [_dt(now - window), _dt(now)],
    )
    names = {rank: name for name, rank in SEVERITY_RANK.items()}
    frame["worst_severity"] = frame["severity_rank"].map(names)
    frame["status"] = _health_status(frame) if len(frame) else pd.Series(dtype=object)
    for column in ("series", "firing", "pending"):
        frame[column] = frame[column].astype("int64")
    return frame[
        ["service", "series", "firing", "pending", "worst_severity", "max_score", "status"]
    ]


def _summary(annotations: str, labels: str) -> str:
    """The line a person reads: the rule's summary, else its description, else the labels."""
    notes = json.loads(annotations or "{}")
    text = notes.get("summary") or notes.get("description")
    if text:
        return str(text)
    pairs = json.loads(labels or "{}")
    return ", ".join(f"{k}={v}" for k, v in pairs.items())


_ALERT_ORDER = {
    "newest": "since DESC, alert_id",
    # What a wall shows first: confirmed before pending, worst severity, then newest.
    "urgency": "state = 'firing' DESC, severity_rank DESC, since DESC, alert_id",
}


def firing_alerts(
    store: Store, limit: int = 50, order: Literal["newest", "urgency"] = "newest"
) -> pd.DataFrame:
    """Pending and firing alerts (newest first by default) with a one-line summary each."""
    frame = store.df(
        f"""
        SELECT alert_id, rule_id, series_id, service, severity, state, labels, annotations,
               active_at, fired_at, coalesce(fired_at, active_at) AS since, value,
               CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2
                   WHEN 'info' THEN 1 ELSE 0 END AS severity_rank
        FROM alerts WHERE state IN ('pending', 'firing')
        ORDER BY {_ALERT_ORDER[order]} LIMIT ?
        """,
        [int(limit)],
    )
    frame["summary"] = [
        _summary(a, lb) for a, lb in zip(frame["annotations"], frame["labels"], strict=True)
    ]
    frame["labels"] = [json.loads(v) for v in frame["labels"]]
    return frame.drop(columns=["annotations", "severity_rank"])


ROLLUP_AFTER = pd.Timedelta(days=2)
"""Windows longer than this are drawn at 5-minute resolution: 14 days of 1-minute samples
are 20,000 points per series, too many for a browser to draw quickly and more than a
chart's width can show."""

_RAW_POINTS = """
    SELECT p.series_id, p.ts, p.value, c.expected, c.lower, c.upper, c.score,
           p.value AS min, p.value AS max
    FROM samples p LEFT JOIN scores c USING (series_id, ts)
    WHERE list_contains($ids::BIGINT[], p.series_id) AND p.ts > $start AND p.ts <= $end
"""
_RAW_BUCKETS = """
    SELECT p.series_id, time_bucket(INTERVAL 5 minutes, p.ts) AS ts, avg(p.value) AS value,
           avg(c.expected) AS expected, avg(c.lower) AS lower, avg(c.upper) AS upper,
           max(c.score) AS score, min(p.value) AS min, max(p.value) AS max
    FROM samples p LEFT JOIN scores c USING (series_id, ts)
    WHERE list_contains($ids::BIGINT[], p.series_id) AND p.ts > $start AND p.ts <= $end
    GROUP BY ALL
"""
_WINDOW = """
    WITH raw AS ({raw}),
    first_raw AS (
        SELECT series_id, time_bucket(INTERVAL 5 minutes, min(ts)) AS bucket
        FROM raw GROUP BY series_id
    )
    SELECT * FROM raw
    UNION ALL
    SELECT r.series_id, r.bucket, r.mean, NULL, NULL, NULL, NULL, r.min, r.max
    FROM samples_5m r LEFT JOIN first_raw f USING (series_id)
    WHERE list_contains($ids::BIGINT[], r.series_id)
      AND r.bucket + INTERVAL 5 minutes > $start AND r.bucket <= $end
      AND r.bucket < coalesce(f.bucket, 'infinity'::TIMESTAMP)
    ORDER BY series_id, ts
"""


def series_window(
    store: Store, series_ids: Sequence[int], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Samples of the series in (start, end] with the detectors' view where there is one.

    Up to :data:`ROLLUP_AFTER` the points are the raw samples; beyond it they are 5-minute
    buckets (labelled by their start) with the mean as ``value``, the highest score in the
    bucket, and ``min``/``max`` of the raw values. Raw samples still stored are bucketed on
    the fly, so late samples and the newest, still-open bucket are always shown; only the
    part of a series older than its oldest raw sample is read from ``samples_5m`` (it has
    no scores: they expire with the raw samples). ``frame.attrs["resolution"]`` says which
    ("raw" or "5m"); a short window older than raw retention is "raw" but holds buckets.
    """
    long = pd.Timestamp(end) - pd.Timestamp(start) > ROLLUP_AFTER
    sql = _WINDOW.format(raw=_RAW_BUCKETS if long else _RAW_POINTS)
    frame = store.df(sql, {"ids": _ids(series_ids), "start": _dt(start), "end": _dt(end)})
    frame.attrs["resolution"] = "5m" if long else "raw"
    return frame


def top_anomalies(
    store: Store, now: pd.Timestamp, window: pd.Timedelta, n: int = 6
) -> list[AnomalySeries]:
    """The ``n`` series with the highest score in (now - window, now], highest first."""
    start = now - window
    top = store.df(
        """
        SELECT c.series_id, s.series_key, s.metric, s.service,
               json_extract_string(s.labels, '$.instance') AS instance, max(c.score) AS score
        FROM scores c JOIN series s USING (series_id)
        WHERE c.ts > ? AND c.ts <= ? AND c.score IS NOT NULL
        GROUP BY ALL ORDER BY score DESC, c.series_id LIMIT ?
        """,
        [_dt(start), _dt(now), int(n)],
    )
    if top.empty:
        return []
    samples = series_window(store, top["series_id"].tolist(), start, now)
    by_id = dict(iter(samples.groupby("series_id")))
    empty = samples.iloc[0:0]
    return [
        AnomalySeries(
            series_id=int(row.series_id),
            series_key=str(row.series_key),
            metric=str(row.metric),
            service=None if pd.isna(row.service) else str(row.service),
            score=float(row.score),
            frame=by_id.get(row.series_id, empty).reset_index(drop=True),
            instance=None if pd.isna(row.instance) else str(row.instance),
        )
        for row in top.itertuples(index=False)
    ]


def series_catalog(store: Store) -> pd.DataFrame:
    """Every series with its labels as a dict, for pickers and label filters."""
    frame = store.df(
        "SELECT series_id, series_key, metric, labels, service, host FROM series "
        "ORDER BY metric, series_key"
    )
    frame["labels"] = [json.loads(v) for v in frame["labels"]]
    return frame


def metric_counts(store: Store) -> pd.DataFrame:
    """Each metric with how many series it has, for the metric picker."""
    return store.df("SELECT metric, count(*) AS series FROM series GROUP BY metric ORDER BY metric")


def label_values(store: Store, metric: str) -> pd.DataFrame:
    """For one metric: every (label, value) pair and how many series carry it."""
    frame = store.df("SELECT labels FROM series WHERE metric = ?", [metric])
    pairs = [(k, str(v)) for text in frame["labels"] for k, v in json.loads(text).items()]
    counted = pd.DataFrame(pairs, columns=["label", "value"])
    return (
        counted.groupby(["label", "value"], as_index=False)
        .size()
        .rename(columns={"size": "series"})
        .sort_values(["label", "value"], ignore_index=True)
    )


def alert_intervals(
    store: Store, series_ids: Sequence[int], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """When alerts on these series were firing inside [start, end], clipped to the window."""
    return store.df(
        """
        SELECT alert_id, series_id, rule_id, severity, state,
               greatest(fired_at, ?) AS start,
               least(coalesce(resolved_at, ?), ?) AS "end"
        FROM alerts
        WHERE list_contains(?::BIGINT[], series_id) AND fired_at IS NOT NULL
          AND fired_at <= ? AND coalesce(resolved_at, ?) >= ?
        ORDER BY start
        """,
        [_dt(start), _dt(end), _dt(end), _ids(series_ids), _dt(end), _dt(end), _dt(start)],
    )


def alert_timeline(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Every alert episode that fired inside [start, end], per service, clipped to the window,
    so the wall can show the last day's alerts beside the incidents they belong to."""
    return store.df(
        """
        SELECT coalesce(service, '—') AS service, rule_id, severity,
               greatest(fired_at, ?) AS start, least(coalesce(resolved_at, ?), ?) AS "end"
        FROM alerts
        WHERE fired_at IS NOT NULL AND fired_at <= ? AND coalesce(resolved_at, ?) >= ?
        ORDER BY service, start
        """,
        [_dt(start), _dt(end), _dt(end), _dt(end), _dt(end), _dt(start)],
    )


def incidents_between(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Incidents that overlap [start, end]; an open incident lasts until ``end``."""
    frame = store.df(
        """
        SELECT incident_id, origin, kind, title, service, series_keys, affected_services,
               started_at, ended_at, cause, fix
        FROM incidents WHERE started_at <= ? AND coalesce(ended_at, ?) >= ?
        ORDER BY started_at
        """,
        [_dt(end), _dt(end), _dt(start)],
    )
    for column in ("series_keys", "affected_services"):
        frame[column] = [json.loads(v) for v in frame[column]]
    return frame


def recent_job_runs(store: Store, n: int = 20) -> pd.DataFrame:
    """The latest background job runs, newest first, so a stale wall can say why."""
    return store.df(
        "SELECT run_id, job, started_at, ended_at, status, rows, error FROM job_runs "
        "ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [int(n)],
    )


def filter_catalog(
    catalog: pd.DataFrame, metric: str, selected: dict[str, Sequence[str]]
) -> pd.DataFrame:
    """Series of ``metric`` whose labels match every non-empty selection (OR within a label)."""
    keep = catalog["metric"] == metric
    for label, values in selected.items():
        if values:
            wanted = {str(v) for v in values}
            keep &= catalog["labels"].map(lambda lb, k=label, w=wanted: str(lb.get(k)) in w)
    return catalog[keep].reset_index(drop=True)


def incidents_touching(
    incidents: pd.DataFrame, series_key: str, service: str | None
) -> pd.DataFrame:
    """The incidents that name this series or affect its service, for its chart."""
    if incidents.empty:
        return incidents
    keep = [
        series_key in keys or (service is not None and (service == root or service in affected))
        for keys, root, affected in zip(
            incidents["series_keys"],
            incidents["service"],
            incidents["affected_services"],
            strict=True,
        )
    ]
    return incidents[keep]


CAPACITY_METRIC = r"_(used|usage|utili[sz]ation|fill)_ratio$"
"""Series that fill up toward a limit of 1 (disk, memory, a pool). CPU is left out on
purpose: it follows load, and a morning ramp is not a resource running out."""


def capacity_samples(store: Store, end: pd.Timestamp, window: pd.Timedelta) -> pd.DataFrame:
    """Raw samples in (end - window, end] of every series that fills up toward 1, for
    :func:`analytics.capacity.capacity_forecast` (one query, all series)."""
    return store.df(
        """
        SELECT p.series_id, p.ts, p.value
        FROM samples p JOIN series s USING (series_id)
        WHERE regexp_matches(s.metric, ?) AND s.metric NOT ILIKE '%cpu%'
          AND p.ts > ? AND p.ts <= ?
        ORDER BY p.series_id, p.ts
        """,
        [CAPACITY_METRIC, _dt(end - window), _dt(end)],
    )


def series_names(store: Store, series_ids: Sequence[int]) -> pd.DataFrame:
    """What to call each series on a chart: key, metric, service and instance."""
    return store.df(
        """
        SELECT series_id, series_key, metric, service,
               json_extract_string(labels, '$.instance') AS instance
        FROM series WHERE list_contains(?::BIGINT[], series_id) ORDER BY series_id
        """,
        [_ids(series_ids)],
    )
