"""When a linear trend crosses a threshold: the "disk full in 3 h" of forecast rules.

The trend is Prometheus' ``predict_linear`` fit (least squares over the rule's window,
see :func:`analytics.promql.ranges.linear_regression`), so a forecast rule alerts exactly
when ``predict_linear(series[window], horizon) <op> threshold`` holds, and this module
adds what PromQL cannot say: how long until the line reaches the threshold.
"""

from __future__ import annotations

import numpy as np

_PAST = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def seconds_to_threshold(
    level: np.ndarray, slope: np.ndarray, threshold: float, op: str
) -> np.ndarray:
    """Seconds until ``level + slope * t`` is past ``threshold`` in the direction ``op``
    names: 0 if it already is, +inf if the trend never gets there."""
    if op not in _PAST:
        raise ValueError(f"a forecast crosses with >, >=, < or <=, not {op!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        towards = slope > 0 if op in (">", ">=") else slope < 0
        eta = np.where(towards, (threshold - level) / slope, np.inf)
        return np.where(_PAST[op](level, threshold), 0.0, np.maximum(eta, 0.0))
