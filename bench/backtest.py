"""Time a backtest: one rule replayed over 1,000 series × 7 days of one-minute history.

    python -m bench.backtest [--series 1000] [--days 7]

The store is seeded as the refit benchmark seeds it (not timed), with a score for every
sample so score rules have something to replay. Each rule kind that reads different data
is timed: a static threshold (values only) and an anomaly-score rule (values joined with
scores). Target: under 2 s per rule, fast enough to use while editing.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from analytics.rules import load_rules
from bench.refit import END, seed_store
from jobs.backtest import backtest
from vigil.store import Store

RULES = {
    "threshold": {"alert": "BenchHigh", "expr": "bench_metric > 40", "for": "5m"},
    "score": {"alert": "BenchOdd", "expr": "bench_metric", "for": "0s",
              "vigil": {"kind": "score", "min_score": 0.99}},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        store = Store.open(Path(tmp) / "data")
        try:
            started = time.perf_counter()
            samples = seed_store(store, args.series, args.days)
            store.execute(
                "INSERT INTO scores SELECT series_id, ts, value, value * 0.9, value * 1.1, "
                "hash(series_id, ts) % 100000 / 100000.0 FROM samples"
            )
            print(f"setup: {samples:,} samples and scores in "
                  f"{time.perf_counter() - started:.1f} s (not timed)", flush=True)  # fmt: skip
            for kind, spec in RULES.items():
                rule = load_rules(yaml.safe_dump({"groups": [{"name": "b", "rules": [spec]}]}))[0]
                started = time.perf_counter()
                result = backtest(store, rule, END - pd.Timedelta(days=args.days), END, 60)
                seconds = time.perf_counter() - started
                print(f"{kind:<9} rule: {result.series:,} series × {result.evaluations:,} "
                      f"evaluations, {len(result.fired):,} firings in {seconds:.2f} s")  # fmt: skip
        finally:
            store.close()


if __name__ == "__main__":
    main()
