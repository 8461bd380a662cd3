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
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.conditions import rule_vector
from analytics.lifecycle import episodes
from analytics.promql import EvaluationError, Semantics, Vector
from analytics.promql.vectors import NAME
from analytics.rules import Rule, render_annotations
from jobs.alert_writer import write_episodes
from jobs.rule_inputs import catalog, load_rule_inputs
from jobs.scoring import ModelCache, score_window
from vigil.clock import as_ns
from vigil.labels import labels_json
from vigil.metrics import EVALUATION_DURATION
from vigil.rules_store import enabled_rules, record_health
from vigil.store import Store

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


def fingerprint(rule_name: str, labels: dict[str, str]) -> str:
    return hashlib.sha1(f"{rule_name}\x00{labels_json(labels)}".encode()).hexdigest()[:16]


def _without_name(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != NAME}


def alert_labels(rule: Rule, element: Mapping[str, str]) -> dict[str, str]:
    """An alert's labels: its element's (without the metric name, as in Prometheus),
    the rule's, ``alertname``, and the severity."""
    labels = {**_without_name(element), **rule.labels, "alertname": rule.name}
    labels["severity"] = rule.severity
    return labels


def _annotations(rule: Rule, labels: dict[str, str], source: str | None, value: float,
                 last_eval: pd.Timestamp) -> str:  # fmt: skip
    """Annotations with templates filled in; a forecast also says when it will cross."""
    template_labels = {**labels, "__name__": source} if source else labels
    out = render_annotations(rule, template_labels, value)
    if rule.kind == "forecast" and np.isfinite(value):
        crossing = pd.Timestamp(last_eval) + pd.Timedelta(seconds=float(value))
        out.setdefault("predicted_at", crossing.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return json.dumps(out, ensure_ascii=False)


def _episode_rows(
    rule: Rule, found: pd.DataFrame, vector: Vector, series: pd.DataFrame
) -> pd.DataFrame:
    """One alert row per episode of an element of the rule's vector."""
    rows = []
    for ep in found.itertuples(index=False):
        element = int(ep.series_idx)
        source = int(vector.sources[element])
        labels = alert_labels(rule, vector.labels[element])
        metric = series["metric"].iat[source] if source >= 0 else None
        service = labels.get("service") or (series["service"].iat[source] if source >= 0 else None)
        rows.append(
            {
                "fingerprint": fingerprint(rule.name, _without_name(vector.labels[element])),
                "rule_id": rule.name,
                "series_id": int(series["series_id"].iat[source]) if source >= 0 else None,
                "labels": labels_json(labels),
                "annotations": _annotations(rule, labels, metric, float(ep.value), ep.last_eval_at),
                "severity": rule.severity,
                "service": service,
                "group_key": service or "",
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
    semantics: Semantics | None = None,
) -> EvaluateSummary:
    """Score [since, until] and evaluate all enabled rules over it (see module docstring).

    ``semantics`` picks the Prometheus major version whose edge cases rules follow (see
    :class:`analytics.promql.Semantics`); the default follows Prometheus 3.
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
    frames, health = [], {}
    if len(grid) and not series.empty and rules:
        inputs = load_rule_inputs(store, series, rules, grid, semantics)
        for rule in rules:
            try:
                vector = rule_vector(rule, inputs)
            except EvaluationError as err:  # the rule fails; the others go on
                health[rule.name] = str(err)
                continue
            health[rule.name] = None
            found = _rule_episodes(rule, vector, grid, series)
            if not found.empty:
                frames.append(found)
    computed = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    grid_first = pd.Timestamp(grid[0]) if len(grid) else since
    evaluated = [r.name for r in rules if health.get(r.name) is None]
    written = write_episodes(store, computed, grid_first, evaluated)
    record_health(store, health, until)
    store.execute(
        "INSERT OR REPLACE INTO watermarks VALUES ('evaluator', 'rules', ?)",
        [until.to_pydatetime()],
    )
    firing = int(store.one("SELECT count(*) FROM alerts WHERE state = 'firing'") or 0)
    return EvaluateSummary(scored, len(rules), len(grid), written, firing)


def _rule_episodes(
    rule: Rule, vector: Vector, grid: np.ndarray, series: pd.DataFrame
) -> pd.DataFrame:
    if not len(vector):
        return pd.DataFrame()
    found = episodes(grid, vector.present, vector.values, rule.for_seconds,
                     rule.keep_firing_for_seconds)  # fmt: skip
    found = found.loc[found["state"] != "inactive"]
    return _episode_rows(rule, found, vector, series)
