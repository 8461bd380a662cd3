"""Time one evaluation tick: one new point for every series, scored by its detector.

    python -m bench.tick [--series 10000] [--models 100] [--jobs -1]

Fitting 10,000 detectors is the refit benchmark's business, so ``--models`` detectors are
fitted on one-minute traffic-like histories (not timed) and each series is an
:class:`analytics.online.OnlineDetector` sharing one of those models, with its own copy
of the context, all in memory as the engine would hold them. The timed part is one
``update`` per series with the next minute's point, in one process (target: under 1 s;
a pool of two processes could at best halve the figure).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time

import numpy as np
import pandas as pd

from analytics.online import OnlineDetector
from bench.refit import END, curves

DAY_MINUTES = 1440


def _copies(fitted: list[OnlineDetector], series: int) -> list[OnlineDetector]:
    """``series`` detectors, each sharing a fitted model but owning its context arrays."""
    out = []
    for i in range(series):
        source = fitted[i % len(fitted)]
        twin = OnlineDetector(source.step_seconds)
        state = copy.copy(source._fitted())
        state.ts, state.values = state.ts.copy(), state.values.copy()
        twin._state = state
        out.append(twin)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")  # fmt: skip
    minutes = args.days * DAY_MINUTES + 1
    ts = pd.date_range(end=END, periods=minutes, freq="min").to_numpy()
    values = curves(0, args.models, minutes, np.random.default_rng(5))
    started = time.perf_counter()
    fitted = [OnlineDetector().fit(ts[:-1], values[i, :-1]) for i in range(args.models)]
    print(f"setup: {args.models} detectors fitted in {time.perf_counter() - started:.1f} s "
          "(not timed)", flush=True)  # fmt: skip
    detectors = _copies(fitted, args.series)
    rows = np.arange(args.series) % args.models
    new_values = values[rows, -1] * np.random.default_rng(6).uniform(0.98, 1.02, args.series)
    point = ts[-1:]
    started = time.perf_counter()
    scored = 0
    for detector, value in zip(detectors, new_values, strict=True):
        scored += int(detector.update(point, np.array([value]))["score"].notna().sum())
    seconds = time.perf_counter() - started
    print(f"tick: {scored:,} of {args.series:,} series scored in {seconds:.2f} s "
          f"({seconds / args.series * 1e3:.2f} ms per series)")  # fmt: skip


if __name__ == "__main__":
    main()
