"""Normal behaviour of the series an SRE watches, as seeded generators.

Each process maps timestamps (seconds) to values, with a ``cycle`` array scaling its daily
habit (1 everywhere for normal days; 0 on a day whose habit is missing, so a failure of
the habit is the same series with the same noise and only that day changed). Noise comes
from the generator passed in: two calls with equally seeded generators and equal cycles
return the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

DAY = 86_400.0
WEEK = 7 * DAY

Generate = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Process:
    """A normal behaviour and what is true of every series it makes."""

    name: str
    generate: Generate
    floor: float | None  # no value goes below it (a count, a percentage); None if unbounded
    daily: bool  # whether it has a daily habit a failure can remove


def _day_phase(t: np.ndarray) -> np.ndarray:
    return 2 * np.pi * (t % DAY) / DAY


def _ar1(n: int, coefficient: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) noise with standard deviation ``sd``: the slow wander of a real
    signal, which white noise lacks and which is what makes false alarms."""
    shocks = rng.normal(0.0, sd * np.sqrt(1 - coefficient**2), n)
    return lfilter([1.0], [1.0, -coefficient], shocks)


def _step_seconds(t: np.ndarray) -> float:
    return float(np.median(np.diff(t))) if t.size > 1 else 60.0


def _per_step(per_minute: float, t: np.ndarray) -> float:
    """An AR coefficient fixed per minute, at this series' step (so an hourly and a
    minutely series of the same process wander alike in time)."""
    return per_minute ** (_step_seconds(t) / 60.0)


def traffic(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Requests per second: a peak in the afternoon, weekends at two thirds, counting
    noise that grows with the rate."""
    weekend = ((t // DAY) % 7 >= 5).astype(float)  # day 0 is a Monday
    rate = 200.0 * (1 + 0.6 * cycle * np.sin(_day_phase(t) - 2.0)) * (1 - weekend / 3)
    return np.maximum(rate + rng.normal(0.0, 1.0, t.size) * np.sqrt(rate) * 1.5, 0.0)


def cpu(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CPU percent of a service: busier by day, wandering a few points around that."""
    level = 35.0 + 15.0 * cycle * np.sin(_day_phase(t) - 2.0)
    wander = _ar1(t.size, _per_step(0.97, t), 3.0, rng)
    return np.clip(level + wander + rng.normal(0.0, 1.0, t.size), 0.0, 100.0)


def temperature(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A machine room's temperature: a weak daily swing on a level that wanders for days
    (weather, load), the kind of series whose own history never quite covers today."""
    drift = _ar1(t.size, _per_step(0.9995, t), 1.5, rng)
    daily = 0.8 * cycle * np.sin(_day_phase(t) - 2.5)
    return 22.0 + drift + daily + rng.normal(0.0, 0.15, t.size)


def batch(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Disk writes of a host with a nightly job from 02:00 to 03:30: quiet all day, one
    large plateau every night that must never page."""
    running = ((t % DAY) >= 2 * 3600) & ((t % DAY) < 3.5 * 3600)
    quiet = 5.0 * rng.lognormal(0.0, 0.3, t.size)
    job = rng.normal(60.0, 5.0, t.size)
    return np.where(running & (cycle > 0.5), job, quiet)


def queue(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Messages waiting in a queue: near empty, with bursts at random times (about six a
    day, each draining over ten minutes), so large values alone are not news."""
    step = _step_seconds(t)
    arrivals = rng.random(t.size) < 6 * step / DAY
    sizes = np.where(arrivals, rng.exponential(30.0, t.size), 0.0)
    backlog = lfilter([1.0], [1.0, -np.exp(-step / 600.0)], sizes)
    return 2.0 + backlog + rng.exponential(0.5, t.size)


def disk(t: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A filesystem's used ratio: fills steadily and is cleaned back every three days, so
    its normal includes a slow climb and a sudden drop."""
    phase = (t % (3 * DAY)) / (3 * DAY)
    return 0.4 + 0.35 * phase + rng.normal(0.0, 0.003, t.size)


PROCESSES: dict[str, Process] = {
    process.name: process
    for process in (
        Process("traffic", traffic, 0.0, True),
        Process("cpu", cpu, 0.0, True),
        Process("temperature", temperature, None, True),
        Process("batch", batch, 0.0, True),
        Process("queue", queue, 0.0, False),
        Process("disk", disk, 0.0, False),
    )
}
