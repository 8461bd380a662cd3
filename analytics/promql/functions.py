"""Instant-vector functions: math on every element, clamping, calendar parts, and the
few that change a vector's shape (``absent``, ``vector``, ``scalar``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.promql.vectors import Vector, unnamed

_MATH = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "ln": np.log,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "sgn": np.sign,
}  # fmt: skip
CALENDAR = ("hour", "minute", "day_of_week", "day_of_month", "day_of_year", "days_in_month",
            "month", "year")  # fmt: skip


def math_function(name: str, vector: Vector) -> Vector:
    with np.errstate(all="ignore"):
        values = _MATH[name](vector.values)
    return unnamed(vector.with_values(values))


def round_to(vector: Vector, to_nearest: np.ndarray | None) -> Vector:
    """Go's ``math.Floor(v / n + 0.5) * n``, which rounds halves up, as Prometheus does."""
    step = np.ones(vector.times) if to_nearest is None else to_nearest
    inverse = 1.0 / step[None, :]
    with np.errstate(all="ignore"):
        values = np.floor(vector.values * inverse + 0.5) / inverse
    return unnamed(vector.with_values(values))


def clamp(vector: Vector, low: np.ndarray | None, high: np.ndarray | None) -> Vector:
    """``clamp``/``clamp_min``/``clamp_max`` with Go's NaN-propagating max and min;
    ``clamp`` with its max below its min is empty."""
    values, present = vector.values, vector.present
    with np.errstate(invalid="ignore"):
        if high is not None:
            values = np.minimum(high[None, :], values)
        if low is not None:
            values = np.maximum(low[None, :], values)
        if low is not None and high is not None:
            present = present & ~(high < low)[None, :]
    return unnamed(Vector(vector.labels, values, present, vector.sources).compact())


def calendar(name: str, vector: Vector) -> Vector:
    """The UTC calendar part of each value read as Unix seconds."""
    flat = vector.values.reshape(-1)
    finite = np.isfinite(flat)
    stamps = pd.to_datetime(np.where(finite, np.trunc(flat), 0).astype(np.int64), unit="s")
    parts = {
        "hour": stamps.hour, "minute": stamps.minute, "day_of_week": stamps.dayofweek + 1,
        "day_of_month": stamps.day, "day_of_year": stamps.dayofyear,
        "days_in_month": stamps.days_in_month, "month": stamps.month, "year": stamps.year,
    }  # fmt: skip
    values = np.asarray(parts[name], dtype=float)
    if name == "day_of_week":
        values = values % 7  # Go counts Sunday as 0
    values = np.where(finite, values, np.nan).reshape(vector.values.shape)
    return unnamed(vector.with_values(values))


def absent(vector: Vector, labels: dict[str, str], times: int) -> Vector:
    """One element, valued 1, at the times ``vector`` has no element."""
    missing = ~vector.present.any(axis=0) if len(vector) else np.ones(times, dtype=bool)
    return Vector((labels,), np.ones((1, times)), missing[None, :],
                  np.array([-1], dtype=np.int64)).compact()  # fmt: skip


def vector_of(scalar: np.ndarray) -> Vector:
    return Vector(({},), scalar[None, :].astype(float), np.ones((1, len(scalar)), dtype=bool),
                  np.array([-1], dtype=np.int64))  # fmt: skip


def scalar_of(vector: Vector) -> np.ndarray:
    """The value of the only element at each time, NaN when there is not exactly one."""
    if not len(vector):
        return np.full(vector.times, np.nan)
    single = vector.present.sum(axis=0) == 1
    value = np.where(vector.present, vector.values, 0.0).sum(axis=0)
    return np.where(single, value, np.nan)
