"""Time the embedded default end to end: backfill, fit, evaluate, one live cycle.

    python -m bench.pipeline [--days 14] [--seed 1]

Prints one line per stage with its wall time and volume; docs/BENCHMARKS.md records the
figures with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

from vigil.clock import utc_now
from vigil.engine import Engine
from vigil.settings import load_settings


def _timed(label: str, action, volume) -> None:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"{label:<28} {elapsed:8.1f} s   {volume(result)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp) / "data",
            demo_backfill_days=args.days,
            demo_seed=args.seed,
            host_enabled=False,
            scheduler_enabled=False,
            training_days=args.days,
        )
        engine = Engine(settings)
        try:
            _timed("backfill (pull + ingest)", engine.pull_all, lambda n: f"{n:,} samples")
            _timed(
                "fit every series", engine.refit, lambda s: f"{s.fitted} fitted, {s.failed} failed"
            )
            now = utc_now()
            since = now - pd.Timedelta(days=args.days)
            _timed(
                "score + evaluate history",
                lambda: engine.evaluate(since=since, until=now),
                lambda s: f"{s.scored:,} points scored, {s.evaluations:,} evaluation times",
            )
            later = now + pd.Timedelta(minutes=1)
            _timed(
                "one live cycle (pull+eval)",
                lambda: (engine.pull_all(), engine.evaluate(until=later)),
                lambda r: f"{r[0]:,} new samples",
            )
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
