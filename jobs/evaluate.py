"""The evaluate job: score new samples, evaluate every enabled rule on the evaluation grid,
and store alert episodes and their transitions.

Evaluation is a replay over a window with a warm-up before ``since`` long enough for every
rule's ``for`` and ``keep_firing_for``, so the result depends only on the data: running it
twice over the same range gives the same alerts. An episode already open before the
window keeps its identity, start and acknowledgement.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.conditions import InstantMatrix, rule_condition
from analytics.lifecycle import episodes, instant_values
from analytics.rules import Rule, render_annotations, select_series
from jobs.alert_writer import write_episodes
from jobs.scoring import ModelCache, score_window
from vigil.clock import as_ns
from vigil.labels import labels_json
from vigil.metrics import EVALUATION_DURATION
from vigil.rules_store import enabled_rules
from vigil.store import Store

LOOKBACK_SECONDS = 300  # Prometheus' default staleness window
WARMUP_MARGIN = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class EvaluateSummary:
    scored: int
    rules: int
    evaluations: int
    alerts: int
    firing: int


def last_evaluated(store: Store) -> pd.Timestamp | None:
    value = store.one("SELECT ts FROM watermarks WHERE source = 'evaluator' AND key = 'rules'")
    return pd.Timestamp(value).as_unit("ns") if value is not None else None


def evaluation_grid(start: pd.Timestamp, end: pd.Timestamp, interval_s: int) -> np.ndarray:
    """Evaluation times aligned to the interval, as a scheduler would have run them."""
    first = start.ceil(f"{interval_s}s")
    return as_ns(pd.date_range(first, end, freq=f"{interval_s}s"))


def catalog(store: Store) -> pd.DataFrame:
    """Every series with its labels as dicts, the frame rule selectors match against."""
    frame = store.df(
        "SELECT series_id, series_key, metric, labels, service FROM series ORDER BY series_id"
    )
    frame["labels"] = [json.loads(text) for text in frame["labels"]]
    return frame


def instant_matrix(
    store: Store,
    series_ids: np.ndarray,
    grid: np.ndarray,
    left_closed: bool,
    *,
    with_scores: bool = True,
) -> InstantMatrix:
    """Value, score and band of ``series_ids`` at every evaluation time (NaN when stale).
    Without ``with_scores`` only values are read (threshold and absent rules need no more);
    score and band are then all NaN."""
    start = pd.Timestamp(grid[0]) - pd.Timedelta(seconds=LOOKBACK_SECONDS)
    end = pd.Timestamp(grid[-1]) + pd.Timedelta(seconds=1)
    detector = ", c.score, c.lower, c.upper" if with_scores else ""
    join = "LEFT JOIN scores c USING (series_id, ts)" if with_scores else ""
    ids = np.asarray(series_ids, dtype=np.int64)
    columns = store.cursor.execute(
        f"""
        SELECT s.series_id, epoch_ns(s.ts) AS ts, s.value{detector}
        FROM samples s {join}
        WHERE s.ts >= ? AND s.ts < ? AND s.series_id IN (SELECT unnest(?::BIGINT[]))
        ORDER BY s.series_id, s.ts
        """,
        [start.to_pydatetime(), end.to_pydatetime(), ids.tolist()],
    ).fetchnumpy()
    first_seen = dict(
        store.cursor.execute(
            "SELECT series_id, epoch_ns(min(ts)) FROM samples "
            "WHERE series_id IN (SELECT unnest(?::BIGINT[])) GROUP BY series_id",
            [ids.tolist()],
        ).fetchall()
    )
    names = ("value", "score", "lower", "upper") if with_scores else ("value",)
    shape = (len(ids), len(grid))
    out = {name: np.full(shape, np.nan) for name in names}
    numbers = {name: np.ma.filled(np.ma.asarray(columns[name], dtype=float), np.nan)
               for name in names}  # fmt: skip
    sample_ids = np.asarray(columns["series_id"], dtype=np.int64)
    sample_ts = np.asarray(columns["ts"], dtype=np.int64).view("datetime64[ns]")
    grid_ns = as_ns(grid).view(np.int64)
    exists = np.zeros(shape, dtype=bool)
    for row, sid in enumerate(ids):  # samples are sorted by series: each one is a slice
        a, b = np.searchsorted(sample_ids, [sid, sid + 1])
        if int(sid) in first_seen:
            exists[row] = grid_ns >= first_seen[int(sid)]
        for name in names:
            out[name][row] = instant_values(
                sample_ts[a:b], numbers[name][a:b], grid,
                lookback_seconds=LOOKBACK_SECONDS, left_closed=left_closed,
            )  # fmt: skip
    if not with_scores:
        nothing = np.broadcast_to(np.nan, shape)
        out.update(score=nothing, lower=nothing, upper=nothing)
    return InstantMatrix(exists=exists, **out)


def fingerprint(rule_name: str, labels: dict[str, str]) -> str:
    return hashlib.sha1(f"{rule_name}\x00{labels_json(labels)}".encode()).hexdigest()[:16]


def _episode_rows(rule: Rule, found: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ep in found.itertuples(index=False):
        series = catalog.iloc[int(ep.series_idx)]
        labels = {**series["labels"], **rule.labels, "alertname": rule.name}
        labels["severity"] = rule.severity
        rows.append(
            {
                "fingerprint": fingerprint(rule.name, series["labels"]),
                "rule_id": rule.name,
                "series_id": int(series["series_id"]),
                "labels": labels_json(labels),
                "annotations": json.dumps(
                    render_annotations(
                        rule, {**labels, "__name__": series["metric"]}, float(ep.value)
                    ),
                    ensure_ascii=False,
                ),
                "severity": rule.severity,
                "service": series["service"],
                "group_key": series["service"] or "",
                "state": ep.state,
                "active_at": ep.active_at,
                "fired_at": ep.fired_at,
                "resolved_at": ep.resolved_at,
                "last_eval_at": ep.last_eval_at,
                "value": float(ep.value),
            }
        )
    return pd.DataFrame(rows)


@EVALUATION_DURATION.time()
def evaluate_window(
    store: Store,
    cache: ModelCache,
    since: pd.Timestamp,
    until: pd.Timestamp,
    interval_s: int,
    *,
    lookback_left_closed: bool = False,
) -> EvaluateSummary:
    """Score [since, until] and evaluate all enabled rules over it (see module docstring).

    ``lookback_left_closed`` reproduces Prometheus 2.x staleness (see
    :func:`analytics.lifecycle.instant_values`); the default follows Prometheus 3.
    """
    rules = enabled_rules(store)
    warmup = max(
        (pd.Timedelta(seconds=r.for_seconds + r.keep_firing_for_seconds) for r in rules),
        default=pd.Timedelta(0),
    )
    grid_start = since - warmup - WARMUP_MARGIN
    scored = score_window(store, cache, grid_start, until + pd.Timedelta(seconds=1))
    grid = evaluation_grid(grid_start, until, interval_s)
    series = catalog(store)
    frames = []
    if len(grid) and not series.empty and rules:
        matrix = instant_matrix(store, series["series_id"].to_numpy(), grid, lookback_left_closed)
        for rule in rules:
            selected = np.flatnonzero(select_series(rule, series))
            if selected.size == 0:
                continue
            active, values = rule_condition(rule, matrix.take(selected))
            found = episodes(grid, active, values, rule.for_seconds, rule.keep_firing_for_seconds)
            found = found.loc[found["state"] != "inactive"].copy()
            found["series_idx"] = selected[found["series_idx"].to_numpy(int)]
            frames.append(_episode_rows(rule, found, series))
    computed = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    grid_first = pd.Timestamp(grid[0]) if len(grid) else since
    written = write_episodes(store, computed, grid_first, [r.name for r in rules])
    store.execute(
        "INSERT OR REPLACE INTO watermarks VALUES ('evaluator', 'rules', ?)",
        [until.to_pydatetime()],
    )
    firing = int(store.one("SELECT count(*) FROM alerts WHERE state = 'firing'") or 0)
    return EvaluateSummary(scored, len(rules), len(grid), written, firing)
