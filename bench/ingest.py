"""Time bulk ingest into a real DuckDB file, through the engine's ingest path.

    python -m bench.ingest [--samples 10_000_000] [--batch 1_000_000] [--series 1000]

Batches are built with Polars (as a source that parses a remote response would), handed
over as pandas frames over the same Arrow buffers, and written by the engine's path
:func:`vigil.ingest.ingest`: new series and ``INSERT OR IGNORE`` of samples in one
transaction per batch. Building a batch is not timed; most of the time goes into the
primary-key index on ``samples`` that makes re-ingesting idempotent. A last pass
re-ingests one batch to time the idempotent path (every sample already stored). Prints
samples/s with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

START = pd.Timestamp("2026-01-01")
STEP_SECONDS = 60


def _catalog(series: int) -> pd.DataFrame:
    keys = [f'bench_metric{{instance="host-{i:05d}",job="bench"}}' for i in range(series)]
    return pd.DataFrame(
        {
            "series_key": keys,
            "metric": "bench_metric",
            "labels": [{"instance": f"host-{i:05d}", "job": "bench"} for i in range(series)],
            "unit": None,
            "service": "bench",
            "host": [f"host-{i:05d}" for i in range(series)],
        }
    )


def _batch(keys: pl.Series, first_step: int, steps: int, rng: np.random.Generator) -> pl.DataFrame:
    """``steps`` time steps of every series, time-major like a pull of a window."""
    n = len(keys) * steps
    start_ns = START.value + first_step * STEP_SECONDS * 1_000_000_000
    offsets = np.repeat(np.arange(steps, dtype=np.int64), len(keys)) * STEP_SECONDS * 10**9
    return pl.DataFrame(
        {
            "series_key": pl.Series(np.tile(keys.to_numpy(), steps)),
            "ts": pl.Series(start_ns + offsets).cast(pl.Datetime("ns")),
            "value": rng.random(n),
        }
    )


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """What a source hands to ingest: pandas over the batch's Arrow buffers."""
    return frame.to_pandas(use_pyarrow_extension_array=True)


def _run(data_dir: Path, samples: int, batch: int, series: int) -> None:
    """Ingest ``samples`` in batches into a fresh data dir and print the figures."""
    rng = np.random.default_rng(1)
    catalog = _catalog(series)
    keys = pl.Series(catalog["series_key"].to_numpy())
    steps = max(1, batch // series)
    batches = max(1, samples // (steps * series))
    store = Store.open(data_dir)
    try:
        total, elapsed = 0, 0.0
        for b in range(batches):
            frame = _to_pandas(_batch(keys, b * steps, steps, rng))
            started = time.perf_counter()
            total += ingest(store, "bench", PullResult(frame, catalog))
            elapsed += time.perf_counter() - started
        first = _to_pandas(_batch(keys, 0, steps, rng))
        started = time.perf_counter()
        again = ingest(store, "bench", PullResult(first, catalog))
        rerun = time.perf_counter() - started
    finally:
        store.close()
    size = (data_dir / "vigil.duckdb").stat().st_size
    print(
        f"{total:,} samples of {series:,} series in {elapsed:.1f} s: "
        f"samples/s: {total / elapsed:,.0f}; re-ingest of a batch ({again} new) {rerun:.2f} s; "
        f"file {size / max(total, 1):.1f} bytes/sample",
        flush=True,
    )


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line]
    return names[0] if names else platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=1_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, "
        f"Python {platform.python_version()}"
    )
    print(f"rows: {args.samples:,} in batches of {args.batch:,}, {args.series:,} series")
    with tempfile.TemporaryDirectory() as tmp:
        _run(Path(tmp) / "data", args.samples, args.batch, args.series)


if __name__ == "__main__":
    main()
