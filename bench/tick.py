"""Time one evaluation tick: one new point for every series, scored by its detector.

    python -m bench.tick [--series 10000] [--models 100] [--days 7]

Fitting 10,000 detectors is the refit benchmark's business, so ``--models`` detectors are
fitted as the refit job fits them (baselines per series, one isolation forest pooled over
their features) on one-minute traffic-like histories, and each series shares one of those
models (not timed). The engine's :class:`analytics.batch_scoring.BatchScorer` is loaded
with every series' context (timed separately: the engine does it after a refit or a
restart, not each tick). The tick is one ``update`` with the next minute's point of every
series, in one process (target: under 1 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from analytics.batch_scoring import BatchScorer
from analytics.detector import fit_baseline_part, fit_detector
from analytics.isolation import pooled_forest
from bench.refit import END, curves

DAY_MINUTES = 1440
TICKS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")  # fmt: skip
    minutes = args.days * DAY_MINUTES + TICKS
    ts = pd.date_range(end=END, periods=minutes, freq="min").to_numpy()
    values = curves(0, args.models, minutes, np.random.default_rng(5))
    history = minutes - TICKS
    started = time.perf_counter()
    parts = [fit_baseline_part(ts[:history], values[i, :history]) for i in range(args.models)]
    forest = pooled_forest(np.concatenate([p.sample for p in parts]))
    models = [
        fit_detector(ts[:history], values[i, :history], prepared=part, forest=forest)
        for i, part in enumerate(parts)
    ]
    print(f"setup: {args.models} detectors fitted in {time.perf_counter() - started:.1f} s "
          "(not timed)", flush=True)  # fmt: skip
    rows = np.arange(args.series) % args.models
    rng = np.random.default_rng(6)
    started = time.perf_counter()
    scorer = BatchScorer.from_context(
        [models[r] for r in rows], [(ts[:history], values[r, :history]) for r in rows]
    )
    print(f"load: context of {args.series:,} series in {time.perf_counter() - started:.2f} s")
    series = np.arange(args.series)
    for tick in range(TICKS):
        new = values[rows, history + tick] * rng.uniform(0.98, 1.02, args.series)
        point = np.full(args.series, ts[history + tick])
        started = time.perf_counter()
        scored = int(scorer.update(series, point, new)["score"].notna().sum())
        seconds = time.perf_counter() - started
        print(f"tick {tick + 1}: {scored:,} of {args.series:,} series scored in {seconds:.3f} s "
              f"({seconds / args.series * 1e6:.1f} µs per series)")  # fmt: skip


if __name__ == "__main__":
    main()
