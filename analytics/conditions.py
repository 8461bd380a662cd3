"""Whether a rule's condition holds for each series at each evaluation time.

Inputs are instant values already resolved with Prometheus staleness (NaN = no sample in
the lookback), so every kind of rule is a vectorised comparison over a
(series × evaluation time) matrix.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from analytics.rules import Rule

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
        "==": operator.eq, "!=": operator.ne}  # fmt: skip


@dataclass(frozen=True)
class InstantMatrix:
    """Per-series rows, per-evaluation columns."""

    value: np.ndarray
    score: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    exists: np.ndarray  # the series had reported at least once by then

    def take(self, rows: np.ndarray) -> InstantMatrix:
        return InstantMatrix(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


def _band(rule: Rule, m: InstantMatrix) -> np.ndarray:
    """Outside the baseline band, widened or narrowed to the rule's k."""
    centre = (m.upper + m.lower) / 2
    half = (m.upper - m.lower) / 2 * (rule.band_k / rule.model_band_k)
    direction = rule.direction
    above = m.value > centre + half
    below = m.value < centre - half
    if direction == "up":
        return above
    if direction == "down":
        return below
    return above | below


def rule_condition(rule: Rule, m: InstantMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(condition holds, the value reported for the alert) for each series and time."""
    with np.errstate(invalid="ignore"):
        if rule.kind == "threshold":
            return _OPS[rule.op](m.value, rule.threshold), m.value
        if rule.kind == "score":
            return m.score >= rule.min_score, m.score
        if rule.kind == "band":
            return _band(rule, m), m.value
        if rule.kind == "absent":
            return np.isnan(m.value) & m.exists, np.ones_like(m.value)
    raise ValueError(f"unknown rule kind {rule.kind!r}")
