"""The evaluate job: score new samples, evaluate every enabled rule on the evaluation grid,
and store alert episodes and their transitions.

Evaluation is a replay over a window with a warm-up before ``since`` long enough for every
rule's ``for`` and ``keep_firing_for``, so the result depends only on the data: running it
twice over the same range gives the same alerts. An episode already open before the
window keeps its identity, start and acknowledgement. The warm-up reaches a further
``WARMUP_MARGIN`` back, so samples that arrive up to that late (a slow pull, a source
catching up) still change the alerts they should.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.conditions import rule_vector
from analytics.lifecycle import episodes
from analytics.promql import EvaluationError, Semantics
from jobs.alert_rows import SeriesColumns, alert_rows, concat_rows
from jobs.alert_writer import write_episodes
from jobs.rule_inputs import catalog, load_rule_inputs
from jobs.scoring import ModelCache, score_window
from vigil.clock import as_ns
from vigil.metrics import EVALUATION_DURATION
from vigil.rules_store import load_enabled, record_health
from vigil.store import Store

WARMUP_MARGIN = pd.Timedelta(minutes=15)


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
    rules, broken = load_enabled(store)
    warmup = max(
        (pd.Timedelta(seconds=r.for_seconds + r.keep_firing_for_seconds) for r in rules),
        default=pd.Timedelta(0),
    )
    grid_start = since - warmup - WARMUP_MARGIN
    scored = score_window(store, cache, grid_start, until + pd.Timedelta(seconds=1))
    grid = evaluation_grid(grid_start, until, interval_s)
    series = catalog(store)
    parts, health = [], dict(broken)
    if len(grid) and not series.empty and rules:
        inputs = load_rule_inputs(store, series, rules, grid, semantics)
        sources = SeriesColumns.of(series)
        for rule in rules:
            try:
                vector = rule_vector(rule, inputs)
            except EvaluationError as err:  # the rule fails; the others go on
                health[rule.name] = str(err)
                continue
            health[rule.name] = None
            if len(vector):
                found = episodes(grid, vector.present, vector.values, rule.for_seconds,
                                 rule.keep_firing_for_seconds)  # fmt: skip
                parts.append(alert_rows(rule, found.loc[found["state"] != "inactive"],
                                        vector, sources))  # fmt: skip
    computed = concat_rows(parts)
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
