"""Each rule's alert conditions over an evaluation grid: one element per alert instance
(its labels, and where and with what value its condition holds at each time).

PromQL rules are whatever their expression returns (:mod:`analytics.promql`), as in
Prometheus: every element present at a time is a firing condition, and elements that
differ only by metric name are one alert. Vigil's per-series
kinds keep each series apart, including its metric name (as the label ``metric``, which is
also how the engine's exported series carry it), so two metrics of one host never share
an alert:

- ``score``: the detector's score at that time is at least ``min_score``;
- ``band``: the value is outside the detector's band rescaled to the rule's ``k``;
- ``absent``: the series reported within ``within`` but has no sample in the lookback;
- ``forecast``: ``predict_linear(series[window], horizon) <op> threshold``; the value is
  the seconds until the fitted trend crosses the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytics.forecast import seconds_to_threshold
from analytics.promql import Data, SampleSet, Selector, Vector, compile_query, evaluate_vector
from analytics.promql import selectors as query_selectors
from analytics.promql.binary import apply
from analytics.promql.evaluate import select_rows
from analytics.promql.nodes import COMPARISON, Binary, Number
from analytics.promql.ranges import Windows, linear_regression
from analytics.promql.vectors import NAME, unnamed
from analytics.rules import Rule

DETECTOR_COLUMNS = ("score", "lower", "upper")
METRIC_LABEL = "metric"


@dataclass(frozen=True)
class RuleInputs:
    """What rules are evaluated over: the series, their samples and the evaluation times
    (``data``), and the detector's outputs per sample where score or band rules need
    them (``detector``: ``score``, ``lower``, ``upper``, each a :class:`SampleSet`)."""

    data: Data
    detector: dict[str, SampleSet] = field(default_factory=dict)


def rule_selectors(rule: Rule) -> list[tuple[Selector, int]]:
    """The selectors a rule reads, each with how far back (ms) before an evaluation time
    it reads: what the evaluator must load."""
    if rule.promql:
        return query_selectors(compile_query(rule.query))
    selector = Selector(rule.metric, rule.matchers)
    if rule.kind == "forecast":
        return [(selector, rule.window_seconds * 1000)]
    if rule.kind == "absent":
        return [(selector, rule.within_seconds * 1000)]
    if rule.kind == "score":
        return []  # the detector's score is all it reads
    return [(selector, 300_000)]


def detector_columns(rule: Rule) -> tuple[str, ...]:
    """Which of the detector's outputs a rule reads (per sample, in the lookback)."""
    return {"score": ("score",), "band": ("lower", "upper")}.get(rule.kind, ())


def rule_vector(rule: Rule, inputs: RuleInputs) -> Vector:
    """Where each of the rule's alert instances has its condition, and its value."""
    if rule.promql:  # alerts are known by their labels without the metric name
        return unnamed(evaluate_vector(compile_query(rule.query), inputs.data))
    data = inputs.data
    rows = np.flatnonzero(select_rows(data, rule.metric, rule.matchers))
    if rule.kind == "forecast":
        return _forecast(rule, data, rows)
    if rule.kind == "absent":
        values, present = _absent(rule, data, rows)
    else:
        values, present = _detector_condition(rule, inputs, rows)
    labels = tuple(_series_labels(data, r) for r in rows)
    out = Vector(labels, np.where(present, values, np.nan), present, rows.astype(np.int64))
    return out.compact()


def _series_labels(data: Data, row: int) -> dict[str, str]:
    labels = dict(data.labels[row])
    labels[METRIC_LABEL] = labels.pop(NAME)
    return labels


def _instant(samples: SampleSet, rows: np.ndarray, data: Data) -> np.ndarray:
    """Each row's value at each evaluation time as an instant selector sees it (NaN: none)."""
    s = data.semantics
    return samples.values_at(samples.latest(rows, data.at_ms, s.lookback_ms, s.prometheus_2))


def _detector_condition(
    rule: Rule, inputs: RuleInputs, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    data = inputs.data
    empty = SampleSet.empty(data.samples.n_rows)
    detector = {name: inputs.detector.get(name, empty) for name in DETECTOR_COLUMNS}
    with np.errstate(invalid="ignore"):
        if rule.kind == "score":
            score = _instant(detector["score"], rows, data)
            return score, score >= rule.min_score
        value = _instant(data.samples, rows, data)
        lower, upper = (_instant(detector[n], rows, data) for n in ("lower", "upper"))
        centre = (upper + lower) / 2
        half = (upper - lower) / 2 * (rule.band_k / rule.model_band_k)
        above, below = value > centre + half, value < centre - half
        outside = {"up": above, "down": below}.get(rule.direction, above | below)
        return value, outside


def _absent(rule: Rule, data: Data, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reported within ``within`` but not within the lookback: ``last_over_time(s[within])
    unless s``, series by series."""
    s = data.semantics
    recent = data.samples.latest(rows, data.at_ms, rule.within_seconds * 1000, s.prometheus_2)
    current = data.samples.latest(rows, data.at_ms, s.lookback_ms, s.prometheus_2)
    gone = (recent >= 0) & (current < 0)
    return np.ones(gone.shape), gone


def _forecast(rule: Rule, data: Data, rows: np.ndarray) -> Vector:
    s = data.semantics
    window_ms = rule.window_seconds * 1000
    lo, hi = data.samples.window(rows, data.at_ms, window_ms, s.prometheus_2)
    windows = Windows(data.samples, rows, lo, hi, data.at_ms, window_ms, 0)
    slope, level = linear_regression(windows, data.at_ms)
    predicted = slope * rule.horizon_seconds + level
    with np.errstate(invalid="ignore"):
        holds = (windows.count >= 2) & (apply(rule.op, predicted, np.float64(rule.threshold)) == 1)
    eta = seconds_to_threshold(level, slope, rule.threshold, rule.op)
    labels = tuple(dict(data.labels[r]) for r in rows)
    out = Vector(labels, np.where(holds, eta, np.nan), holds, rows.astype(np.int64))
    return unnamed(out.compact())


def rule_context(rule: Rule, inputs: RuleInputs, vector: Vector, top: np.ndarray
             ) -> tuple[np.ndarray, float | None]:  # fmt: skip
    """What the rule compares, for the elements ``top`` of its vector at every time,
    and the threshold it compares with: a comparison's left side whole, not only where
    the rule fires; a per-series rule's value (its score, for score rules)."""
    data = inputs.data
    if rule.promql:
        node = compile_query(rule.query)
        if comparison_threshold(rule) is not None:
            lhs = unnamed(evaluate_vector(node.lhs, data))
            index = {_label_key(labels): i for i, labels in enumerate(lhs.labels)}
            rows = [index.get(_label_key(vector.labels[i]), -1) for i in top]
            lines = np.full((len(top), data.times), np.nan)
            for out, row in enumerate(rows):
                if row >= 0:
                    lines[out] = np.where(lhs.present[row], lhs.values[row], np.nan)
            return lines, node.rhs.value
        return np.where(vector.present[top], vector.values[top], np.nan), None
    source = vector.sources[top]
    column = inputs.detector.get("score") if rule.kind == "score" else data.samples
    s = data.semantics
    values = column.values_at(column.latest(source, data.at_ms, s.lookback_ms, s.prometheus_2))
    threshold = {"score": rule.min_score, "forecast": rule.threshold}.get(rule.kind)
    return values, threshold


def comparison_threshold(rule: Rule) -> float | None:
    """The number a rule compares with: the right side of a PromQL filter comparison
    (``expr > 4``), a forecast's threshold; None for anything else."""
    if rule.kind == "forecast":
        return rule.threshold
    if not rule.promql:
        return None
    node = compile_query(rule.query)
    if (isinstance(node, Binary) and node.op in COMPARISON and not node.return_bool
            and isinstance(node.rhs, Number)):  # fmt: skip
        return float(node.rhs.value)
    return None


def _label_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def matched_series(rule: Rule, inputs: RuleInputs) -> int:
    """How many series the rule's selectors match."""
    if not rule.promql:
        return int(select_rows(inputs.data, rule.metric, rule.matchers).sum())
    masks = [select_rows(inputs.data, s.metric, s.matchers) for s, _ in rule_selectors(rule)]
    return int(np.logical_or.reduce(masks).sum()) if masks else 0
