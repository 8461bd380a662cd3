"""Failures injected into normal series, each sized against the series' own normal.

A failure changes a copy of a normal series from one row on and reports the row where a
person looking at the chart could first see it (the label NAB's labellers would place).
Sizes are fractions of the normal series' spread (its 1st to 99th percentile), so each
failure is plain on a chart whatever the series' units, and no larger: a detector that
misses one misses something an SRE would have wanted to hear about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.nab.processes import DAY, PROCESSES, Process

HOUR = 3_600.0


@dataclass(frozen=True)
class Normal:
    """What a failure is sized against: the normal series' range and spread."""

    low: float  # 1st percentile
    high: float  # 99th percentile
    least: float
    most: float
    floor: float | None

    @property
    def spread(self) -> float:
        return self.high - self.low

    @classmethod
    def of(cls, values: np.ndarray, process: Process) -> Normal:
        low, high = np.percentile(values, [1, 99])
        return cls(float(low), float(high), float(values.min()), float(values.max()), process.floor)

    def bounded(self, values: np.ndarray) -> np.ndarray:
        return values if self.floor is None else np.maximum(values, self.floor)


@dataclass(frozen=True)
class Series:
    """One normal series as a failure sees it."""

    t: np.ndarray  # seconds
    normal: Normal
    habitless: np.ndarray  # the same series, same noise, generated without a daily habit


Inject = Callable[[np.ndarray, Series, int, np.random.Generator], int]


@dataclass(frozen=True)
class Failure:
    """A kind of failure: the processes it can happen to, how many a series gets, and
    whether it lasts to the end of the series (then it is the series' only one)."""

    name: str
    inject: Inject  # (values, series, start row, rng) -> label row; changes values
    processes: tuple[str, ...]
    most: int = 1
    lasting: bool = False


def _rows(t: np.ndarray, start: int, seconds: float) -> slice:
    """The rows from ``start`` within ``seconds`` of it (at least the start row)."""
    end = int(np.searchsorted(t, t[start] + seconds, side="left"))
    return slice(start, max(end, start + 1))


def spike(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """A few minutes far above anything normal (a retry storm, an error burst)."""
    values[_rows(s.t, start, rng.uniform(60, 300))] = (
        s.normal.most + rng.uniform(0.5, 1.0) * s.normal.spread
    )
    return start


def dip(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """Twenty minutes to two hours of near nothing (an outage upstream); below the
    series' least value when it has no floor."""
    rows = _rows(s.t, start, rng.uniform(20 * 60, 2 * HOUR))
    if s.normal.floor is None:
        values[rows] = s.normal.least - 0.5 * s.normal.spread
    else:
        values[rows] = s.normal.floor + 0.05 * (values[rows] - s.normal.floor)
    return start


def level_shift(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """A lasting step of half the spread (a deploy that doubles latency, a lost replica),
    downwards only where the floor leaves room."""
    down = rng.random() < 0.5 and (
        s.normal.floor is None or s.normal.low - s.normal.spread / 2 > s.normal.floor
    )
    values[start:] = s.normal.bounded(values[start:] + (-0.5 if down else 0.5) * s.normal.spread)
    return start


def variance(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """Six hours to a day of erratic values around the usual level (a controller
    hunting, a flapping dependency)."""
    rows = _rows(s.t, start, rng.uniform(6 * HOUR, DAY))
    noise = rng.normal(0.0, 0.2 * s.normal.spread, values[rows].size)
    values[rows] = s.normal.bounded(values[rows] + noise)
    return start


def drift(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """A climb of one spread over one to two days that stays (a leak, a growing
    backlog): slow enough that no single step is odd, ending beyond the usual range.
    Its start is invisible, so it is labelled where it has climbed a quarter spread."""
    ramp = np.clip((s.t[start:] - s.t[start]) / rng.uniform(DAY, 2 * DAY), 0.0, 1.0)
    values[start:] += s.normal.spread * ramp
    return start + int(np.searchsorted(ramp, 0.25))


def flatline(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """Six hours to a day of one repeated value (a stuck exporter, a frozen sensor)."""
    values[_rows(s.t, start, rng.uniform(6 * HOUR, DAY))] = values[start]
    return start


def missing_habit(values: np.ndarray, s: Series, start: int, rng: np.random.Generator) -> int:
    """A day without its daily habit; the values were generated so already (the
    process's cycle is 0 that day). The day starts at the midnight after ``start``; it
    is labelled where it first departs from its habit by a quarter of the spread, since
    until then nothing is visible."""
    first = int(np.searchsorted(s.t, np.ceil(s.t[start] / DAY) * DAY))
    rows = _rows(s.t, min(first, s.t.size - 1), DAY)
    departs = np.flatnonzero(np.abs(s.habitless[rows] - values[rows]) > s.normal.spread / 4)
    values[rows] = s.habitless[rows]
    return rows.start + int(departs[0]) if departs.size else rows.start


FAILURES: dict[str, Failure] = {
    failure.name: failure
    for failure in (
        Failure("spike", spike, tuple(PROCESSES), most=3),
        Failure("dip", dip, ("traffic", "cpu", "temperature"), most=3),
        Failure("level_shift", level_shift, tuple(PROCESSES), lasting=True),
        Failure("variance", variance, ("traffic", "cpu", "temperature", "disk"), most=2),
        Failure("drift", drift, ("traffic", "cpu", "temperature", "disk"), lasting=True),
        Failure("flatline", flatline, ("traffic", "cpu", "temperature", "batch"), most=2),
        Failure("missing_habit", missing_habit, ("traffic", "cpu", "batch")),
    )
}
