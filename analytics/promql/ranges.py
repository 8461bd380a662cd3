"""Range-vector functions (``rate(x[5m])``, ``avg_over_time(x[1h])``...) for many series
and evaluation times at once.

Each (series, time) window is an index range ``lo:hi`` into a :class:`SampleSet`; sums
over a window are differences of prefix sums, minima and maxima are ``reduceat`` over the
window bounds. The formulas are Prometheus' (``promql/functions.go``), including the
extrapolation of ``rate``/``increase``/``delta``, whose order of steps changed in
Prometheus 3; ``prometheus_2`` picks the older order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from analytics.promql.samples import SampleSet


@dataclass(frozen=True)
class Windows:
    """The samples of each (series, time) window, and what the window was asked for."""

    samples: SampleSet
    rows: np.ndarray  # (k,) rows of the samples
    lo: np.ndarray
    hi: np.ndarray
    at_ms: np.ndarray  # (T,) evaluation times
    range_ms: int
    offset_ms: int

    @cached_property
    def count(self) -> np.ndarray:
        return self.hi - self.lo

    def total(self, quantity: str) -> np.ndarray:
        return self.samples.window_total(quantity, self.rows, self.lo, self.hi)

    def pair_total(self, quantity: str) -> np.ndarray:
        """Total over each sample after the window's first (quantities of sample pairs)."""
        after_first = np.minimum(self.lo + 1, self.hi)
        return self.samples.window_total(quantity, self.rows, after_first, self.hi)

    @property
    def origin_value(self) -> np.ndarray:
        """(k, 1): the value the ``dv`` quantities of each row count from."""
        return self.samples.row_origin(self.rows)[1][:, None]

    def at(self, index: np.ndarray, array: np.ndarray) -> np.ndarray:
        """``array[index]``, clipped to its ends (callers mask the windows it is not)."""
        if not len(array):
            return np.zeros(np.shape(index))
        return np.take(array, index, mode="clip")


def _reduce(windows: Windows, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc`` over each non-empty window, by ``reduceat`` on interleaved bounds."""
    values = windows.samples.values
    if values.size == 0:
        return np.full(windows.lo.shape, np.nan)
    padded = np.append(values, np.nan)
    bounds = np.stack([windows.lo, windows.hi], axis=-1).reshape(-1)
    out = ufunc.reduceat(padded, np.minimum(bounds, len(values)))[::2].reshape(windows.lo.shape)
    return np.where(windows.count > 0, out, np.nan)


def counter_increase(w: Windows) -> np.ndarray:
    """Last minus first value plus the value before each reset. A window with one reset
    adds it exactly as Prometheus does, so a counter that reset and stayed flat gives
    exactly 0; windows with several (a gauge read as a counter) add their prefix sum."""
    v = w.samples.values
    result = w.at(w.hi - 1, v) - w.at(w.lo, v)
    resets = w.samples.reset_positions
    if not len(resets):
        return result
    if len(resets) * 100 < len(v):  # rare, as on counters: search among them
        before = np.searchsorted(resets, w.lo + 1)
        inside = np.searchsorted(resets, w.hi) - before
    else:  # dense, as on a gauge read as a counter: count in prefix sums of 0 and 1
        before, inside = None, w.pair_total("resets")
    one = np.flatnonzero((inside == 1) & (w.count >= 2))
    if len(one):  # the one reset's position, found for those windows only
        first = (before.reshape(-1)[one] if before is not None
                 else np.searchsorted(resets, w.lo.reshape(-1)[one] + 1))  # fmt: skip
        position = resets[np.minimum(first, len(resets) - 1)]
        flat = result.reshape(-1)
        flat[one] = flat[one] + v[position - 1]
    several = (inside > 1) & (w.count >= 2)
    if several.any():
        result = np.where(several, result + w.pair_total("reset_amount"), result)
    return result


def extrapolated_rate(
    w: Windows, *, counter: bool, per_second: bool, prometheus_2: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``rate``, ``increase`` (counters) and ``delta`` (gauges); at least two samples."""
    ok = w.count >= 2
    first, last = w.lo, w.hi - 1
    v, ts = w.samples.values, w.samples.ts
    v_first = w.at(first, v)
    result = counter_increase(w) if counter else w.at(last, v) - v_first
    t_first, t_last = w.at(first, ts), w.at(last, ts)
    range_start = (w.at_ms - w.range_ms - w.offset_ms)[None, :]
    range_end = (w.at_ms - w.offset_ms)[None, :]
    to_start = (t_first - range_start) / 1000.0
    to_end = (range_end - t_last) / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        sampled = (t_last - t_first) / 1000.0
        average = sampled / np.maximum(w.count - 1, 1)
        threshold = average * 1.1
        can_zero = (result > 0) & (v_first >= 0) if counter else np.zeros(ok.shape, bool)
        to_zero = np.where(can_zero, sampled * (v_first / np.where(result != 0, result, 1)), np.inf)
        if prometheus_2:
            to_start = np.minimum(to_start, to_zero)
            to_start = np.where(to_start < threshold, to_start, average / 2)
        else:
            to_start = np.where(to_start >= threshold, average / 2, to_start)
            to_start = np.minimum(to_start, to_zero)
        to_end = np.where(to_end < threshold, to_end, average / 2)
        factor = (sampled + to_start + to_end) / sampled
        range_s = w.range_ms / 1000.0
        if prometheus_2:  # scales, then divides by the range
            out = result * factor / range_s if per_second else result * factor
        else:  # folds the range into the factor
            out = result * (factor / range_s if per_second else factor)
    return out, ok


def instant_rate(w: Windows, *, per_second: bool) -> tuple[np.ndarray, np.ndarray]:
    """``irate`` and ``idelta``: the last two samples of the window."""
    v, ts = w.samples.values, w.samples.ts
    last, previous = w.hi - 1, w.hi - 2
    v_last, v_prev = w.at(last, v), w.at(previous, v)
    interval = w.at(last, ts) - w.at(previous, ts)
    ok = (w.count >= 2) & (interval != 0)
    result = np.where(per_second & (v_last < v_prev), v_last, v_last - v_prev)
    if per_second:
        with np.errstate(divide="ignore", invalid="ignore"):
            result = result / (np.where(interval != 0, interval, 1) / 1000.0)
    return result, ok


def linear_regression(w: Windows, intercept_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope (per second) and the fitted value at ``intercept_ms``, as
    Prometheus fits them for ``deriv`` and ``predict_linear``; a window of one constant
    value has slope 0 and that value."""
    n = w.count.astype(float)
    origin_ms, origin_value = w.samples.row_origin(w.rows)
    x0 = (np.asarray(intercept_ms)[None, :] - origin_ms[:, None]) / 1000.0
    sx, sy = w.total("dx"), w.total("dv")
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = w.total("dxdv") - sx * sy / n
        var = w.total("dx2") - sx * sx / n
        constant = w.pair_total("changes") == 0  # exact: a count, not a float test
        slope = np.where(constant, 0.0, cov / var)
        fitted = origin_value[:, None] + sy / n + slope * (x0 - sx / n)
        intercept = np.where(constant, w.at(w.lo, w.samples.values), fitted)
    return slope, intercept


def over_time(name: str, w: Windows) -> tuple[np.ndarray, np.ndarray]:
    """The ``*_over_time`` family, ``changes`` and ``resets``."""
    n = w.count
    present = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "sum_over_time":
            return w.origin_value * n + w.total("dv"), present
        if name == "count_over_time":
            return n.astype(float), present
        if name == "avg_over_time":  # a constant window averages to exactly its value
            return w.origin_value + w.total("dv") / n, present
        if name in ("min_over_time", "max_over_time"):
            return _reduce(w, np.fmin if name == "min_over_time" else np.fmax), present
        if name == "last_over_time":
            return w.at(w.hi - 1, w.samples.values), present
        if name == "present_over_time":
            return np.ones(n.shape), present
        if name in ("stddev_over_time", "stdvar_over_time"):
            mean = w.total("dv") / n  # shifted by the row's first value: same variance
            variance = np.maximum(w.total("dv2") / n - mean * mean, 0.0)
            variance = np.where(w.pair_total("changes") == 0, 0.0, variance)
            return (np.sqrt(variance) if name == "stddev_over_time" else variance), present
        if name in ("changes", "resets"):
            return w.pair_total(name), present
    raise ValueError(f"unknown range function {name}")
