"""Time a backtest: one rule replayed over 1,000 series × 7 days of one-minute history.

    python -m bench.backtest [--series 1000] [--days 7]

The store is seeded as the refit benchmark seeds it (not timed), with a score for every
sample so score rules have something to replay. Each rule kind that reads different data
is timed: a static threshold and a rate() (samples), and an anomaly-score rule (the
detector's scores). Each runs ``--runs`` times with its threshold edited between runs:
the first reads the database, the others are what each further edit of the draft costs
(its inputs are kept for a minute). Target: under 2 s per rule, fast enough to use while
editing.
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

from analytics.rules import Rule, load_rules
from bench.refit import END, seed_store
from jobs.backtest import backtest
from vigil.store import Store

RULES = {
    "threshold": {"alert": "BenchHigh", "expr": "bench_metric > {x}", "for": "5m"},
    "rate": {"alert": "BenchFast", "expr": "rate(bench_requests_total[5m]) > {x}", "for": "5m"},
    "score": {"alert": "BenchOdd", "expr": "bench_metric", "for": "0s",
              "vigil": {"kind": "score", "min_score": "{x}"}},
}  # fmt: skip
EDITS = {"threshold": (40, 42, 45), "rate": (1.2, 1.25, 1.3), "score": (0.99, 0.985, 0.98)}


def edited(kind: str, run: int) -> Rule:
    """The kind's rule with its threshold as the ``run``-th edit sets it."""
    value = EDITS[kind][min(run, len(EDITS[kind]) - 1)]
    text = yaml.safe_dump({"groups": [{"name": "b", "rules": [RULES[kind]]}]})
    return load_rules(text.replace("'{x}'", str(value)).replace("{x}", str(value)))[0]


def seed_counters(store: Store) -> int:
    """A request counter beside every series: the running sum of its (positive) values,
    per minute, so rate() has what it is meant for."""
    store.execute(
        "INSERT INTO series (series_key, metric, labels, source, service) "
        "SELECT replace(series_key, 'bench_metric', 'bench_requests_total'), "
        "'bench_requests_total', labels, source, service FROM series"
    )
    store.execute(
        "INSERT INTO samples SELECT c.series_id, s.ts, "
        "sum(abs(s.value)) OVER (PARTITION BY s.series_id ORDER BY s.ts) "
        "FROM samples s JOIN series g ON g.series_id = s.series_id "
        "JOIN series c ON c.series_key = replace(g.series_key, 'bench_metric', "
        "'bench_requests_total')"
    )
    return int(store.one("SELECT count(*) FROM samples s JOIN series USING (series_id) "
                         "WHERE metric = 'bench_requests_total'") or 0)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
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
            samples += seed_counters(store)
            print(f"setup: {samples:,} samples and scores in "
                  f"{time.perf_counter() - started:.1f} s (not timed)", flush=True)  # fmt: skip
            for kind in RULES:
                times = []
                for run in range(args.runs):
                    rule = edited(kind, run)
                    started = time.perf_counter()
                    result = backtest(store, rule, END - pd.Timedelta(days=args.days), END, 60)
                    times.append(time.perf_counter() - started)
                runs = ", ".join(f"{t:.2f}" for t in times)
                print(f"{kind:<9} rule: {result.series:,} series × {result.evaluations:,} "
                      f"evaluations, {len(result.fired):,} firings in {runs} s")  # fmt: skip
        finally:
            store.close()


if __name__ == "__main__":
    main()
