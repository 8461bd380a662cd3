"""Forecasts: when a linear trend crosses a threshold (the "disk full in 3 h" of forecast
rules), and what the coming hours should look like by the seasonal baseline.

The trend is Prometheus' ``predict_linear`` fit (least squares over the rule's window,
see :func:`analytics.promql.ranges.linear_regression`), so a forecast rule alerts exactly
when ``predict_linear(series[window], horizon) <op> threshold`` holds, and this module
adds what PromQL cannot say: how long until the line reaches the threshold.
"""

from __future__ import annotations

import numpy as np

from analytics.baseline import SeasonalBaseline

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


def seasonal_forecast(
    baseline: SeasonalBaseline,
    recent_ts: np.ndarray,
    recent_values: np.ndarray,
    start: np.datetime64,
    horizon: np.timedelta64,
    step: np.timedelta64,
    band_k: float,
) -> dict[str, np.ndarray]:
    """What the next ``horizon`` should look like if nothing changes: the baseline's cycle
    on top of today's level, with the band scoring uses (``band_k`` robust sigmas).

    The level is the median of the deseasonalised recent points, the same estimate online
    scoring uses, so the forecast continues the chart's expected line rather than the
    training window's level. Empty arrays when no recent point is finite."""
    ts = np.asarray(recent_ts, dtype="datetime64[ns]")
    values = np.asarray(recent_values, dtype=float)
    ok = np.isfinite(values)
    future = np.arange(start + step, start + horizon + step, step).astype("datetime64[ns]")
    if not ok.any() or future.size == 0:
        empty = np.array([], dtype=float)
        return {"ts": future[:0], "expected": empty, "lower": empty, "upper": empty}
    level = float(np.median(values[ok] - baseline.seasonal(ts[ok])))
    expected = level + baseline.seasonal(future)
    spread = band_k * baseline.scale(future)
    return {"ts": future, "expected": expected, "lower": expected - spread,
            "upper": expected + spread}  # fmt: skip
