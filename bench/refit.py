"""Time the refit job: every series' detector fitted from a real DuckDB file.

    python -m bench.refit [--series 1000] [--days 14] [--jobs -1]

Series are one-minute traffic-like curves of varied shape: daily cycles of different
phase and depth, quieter weekends on some, noise from 1 % to 20 %, a few flat, sparse or
trending ones. They are ingested first (not timed); then ``refit_all`` runs as the engine
runs it (read, fit on a process pool, write artifacts and model rows) and is timed, while
a sampler records the peak memory of the whole process tree. Prints wall time, the
seconds per series, and that peak.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from bench.progress import every_tenth
from jobs.refit import refit_all
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

END = pd.Timestamp("2026-11-23")
BATCH_SERIES = 100


def curves(first: int, count: int, minutes: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` series × ``minutes`` values, each with its own shape."""
    t = np.arange(minutes)[None, :]
    hour = (t / 60) % 24
    day = (t // 1440) % 7
    phase = rng.uniform(0, 24, (count, 1))
    depth = rng.uniform(0.0, 0.8, (count, 1))
    weekend = np.where(rng.random((count, 1)) < 0.5, 0.7, 1.0)
    level = rng.lognormal(3, 1.5, (count, 1))
    shape = 1 - depth * (0.5 + 0.5 * np.cos((hour - phase) / 24 * 2 * np.pi))
    shape = shape * np.where(day >= 5, weekend, 1.0)
    noise = rng.uniform(0.01, 0.2, (count, 1)) * rng.standard_normal((count, minutes))
    values = level * shape * (1 + noise)
    kinds = (np.arange(first, first + count) % 50)[:, None]
    values = np.where(kinds == 0, level, values)  # flat
    sparse = rng.random((count, minutes)) < 0.02
    values = np.where(kinds == 1, np.where(sparse, level, 0.0), values)  # mostly zeros
    return np.where(kinds == 2, values + level * t / minutes, values)  # trending


def seed_store(store: Store, series: int, days: int) -> int:
    minutes = days * 1440
    ts = pd.date_range(END - pd.Timedelta(minutes=minutes), periods=minutes, freq="min")
    rng = np.random.default_rng(11)
    total = 0
    for first in range(0, series, BATCH_SERIES):
        count = min(BATCH_SERIES, series - first)
        keys = [f'bench_metric{{instance="host-{i:05d}"}}' for i in range(first, first + count)]
        values = curves(first, count, minutes, rng)
        samples = pd.DataFrame(
            {
                "series_key": np.repeat(keys, minutes),
                "ts": np.tile(ts.to_numpy(), count),
                "value": values.ravel(),
            }
        )
        catalog = pd.DataFrame(
            {
                "series_key": keys,
                "metric": "bench_metric",
                "labels": [{"instance": k[21:-2]} for k in keys],
                "unit": None,
                "service": "bench",
                "host": None,
            }
        )
        total += ingest(store, "bench", PullResult(samples, catalog))
    return total


class PeakMemory:
    """Samples the RSS of this process and its children every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker may just have exited
                    rss += proc.memory_info().rss
            self.peak = max(self.peak, rss)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        store = Store.open(Path(tmp) / "data")
        try:
            started = time.perf_counter()
            samples = seed_store(store, args.series, args.days)
            print(f"setup: {samples:,} samples of {args.series:,} series in "
                  f"{time.perf_counter() - started:.1f} s (not timed)", flush=True)  # fmt: skip
            with PeakMemory() as memory:
                started = time.perf_counter()
                summary = refit_all(
                    store, Path(tmp) / "models", training_days=args.days, step_seconds=60,
                    now=END, progress=every_tenth("fitted", started), n_jobs=args.jobs,
                )  # fmt: skip
                seconds = time.perf_counter() - started
        finally:
            store.close()
    print(f"refit: {summary.fitted} fitted, {summary.failed} failed in {seconds:.1f} s "
          f"({seconds / max(summary.fitted, 1) * 1000:.0f} ms per series); "
          f"peak memory {memory.peak / 2**20:,.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
