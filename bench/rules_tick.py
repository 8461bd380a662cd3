"""Time one evaluation tick of 200 rules over 10,000 series, as the engine runs it.

    python -m bench.rules_tick [--series 10000] [--rules 200] [--ticks 3]

The estate is 20 metrics × 500 instances (in 50 services): ten gauges, six counters and
four "capacity" gauges, two hours of one-minute samples, each with a detector score
(ingested first, not timed). The rules are what rule files hold, in proportion: threshold
selectors, rate() over counters, aggregations by service, ratios between metrics matched
on their labels, predict_linear forecasts, anomaly-score and band rules, and per-series
absence. A tick is the evaluate job's work when a minute has passed: read, evaluate every
rule over the replay window (for + keep_firing_for + an hour), and write the episodes.
The first tick writes every episode; later ones are the steady state. Target: under 2 s.
``--storm`` lowers every threshold until a large part of the estate alerts at once.
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
import yaml

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from vigil.ingest import ingest
from vigil.rules_store import import_rules
from vigil.sources.base import PullResult
from vigil.store import Store

END = pd.Timestamp("2026-11-30 12:00")
GAUGES = [f"bench_gauge_{i}" for i in range(10)]
COUNTERS = [f"bench_requests_{i}_total" for i in range(6)]
CAPACITY = [f"bench_used_{i}" for i in range(2)] + [f"bench_size_{i}" for i in range(2)]


def seed(store: Store, series: int, minutes: int, rng: np.random.Generator) -> int:
    metrics = GAUGES + COUNTERS + CAPACITY
    per_metric = series // len(metrics)
    ts = pd.date_range(end=END, periods=minutes, freq="min")
    total = 0
    for metric in metrics:
        instances = [f"host-{i:04d}" for i in range(per_metric)]
        keys = [f'{metric}{{instance="{h}"}}' for h in instances]
        if metric in COUNTERS:
            values = np.cumsum(rng.integers(0, 100, (per_metric, minutes)), axis=1).astype(float)
        elif metric.startswith("bench_size"):
            values = np.full((per_metric, minutes), 1000.0)
        elif metric.startswith("bench_used"):
            values = 500 + np.cumsum(rng.normal(0.5, 2, (per_metric, minutes)), axis=1)
        else:  # mean-reverting around 50: crossings last minutes, as real ones do
            values = np.empty((per_metric, minutes))
            values[:, 0] = rng.normal(50, 15, per_metric)
            shocks = rng.normal(0, 15 * np.sqrt(1 - 0.95**2), (per_metric, minutes))
            for t in range(1, minutes):
                values[:, t] = 50 + 0.95 * (values[:, t - 1] - 50) + shocks[:, t]
        samples = pd.DataFrame({"series_key": np.repeat(keys, minutes),
                                "ts": np.tile(ts.to_numpy(), per_metric),
                                "value": values.ravel()})  # fmt: skip
        catalog = pd.DataFrame({
            "series_key": keys, "metric": metric, "unit": None, "host": instances,
            "service": [f"svc-{i % 50:02d}" for i in range(per_metric)],
            "labels": [{"instance": h, "service": f"svc-{i % 50:02d}", "env": "prod"}
                       for i, h in enumerate(instances)],
        })  # fmt: skip
        total += ingest(store, "bench", PullResult(samples, catalog))
    store.execute(
        "INSERT INTO scores SELECT series_id, ts, value, value * 0.8, value * 1.2, "
        "hash(series_id, ts) % 1000 / 1000.0 FROM samples"
    )
    return total


def rules(count: int, rng: np.random.Generator, storm: bool = False) -> list[dict]:
    """``count`` rules in the proportions of a real rule file; with ``storm``, their
    thresholds are low enough for a large part of the estate to alert at once."""
    out: list[dict] = []

    def pick(options: list[str]) -> str:
        return options[int(rng.integers(0, len(options)))]

    forms = [
        (0.35, lambda: f'{pick(GAUGES)}{{service=~"svc-{int(rng.integers(0, 5))}.*"}} > '
                       f"{rng.uniform(80, 95):.1f}"),
        (0.20, lambda: f"rate({pick(COUNTERS)}[5m]) > {rng.uniform(1.2, 1.6):.2f}"),
        (0.15, lambda: f"sum by (service) (rate({pick(COUNTERS)}[5m])) > "
                       f"{rng.uniform(12, 16):.1f}"),
        (0.10, lambda: f"bench_used_{int(rng.integers(0, 2))} / bench_size_"
                       f"{int(rng.integers(0, 2))} > {rng.uniform(0.6, 0.62):.3f}"),
        (0.05, lambda: f"predict_linear(bench_used_{int(rng.integers(0, 2))}[1h], 4 * 3600) "
                       "> 1000"),
    ]  # fmt: skip
    for share, make in forms:
        for _ in range(round(share * count)):
            out.append({"expr": make(), "for": pick(["0s", "2m", "5m"])})
    vigil_kinds = [{"kind": "score", "min_score": 0.995}, {"kind": "band", "k": 4},
                   {"kind": "absent"}]  # fmt: skip
    while len(out) < count:
        out.append({"expr": pick(GAUGES), "for": "3m",
                    "vigil": vigil_kinds[len(out) % len(vigil_kinds)]})  # fmt: skip
    for i, rule in enumerate(out):
        if storm and " > " in rule["expr"]:
            expr, threshold = rule["expr"].rsplit(" > ", 1)
            rule["expr"] = f"{expr} > {float(threshold) * 0.6:.3f}"
        rule["alert"] = f"Bench{i:03d}"
        rule["labels"] = {"severity": pick(["warning", "critical"])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--storm", action="store_true",
                        help="Thresholds low enough for an alert storm.")  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")  # fmt: skip
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        store = Store.open(Path(tmp) / "data")
        try:
            started = time.perf_counter()
            samples = seed(store, args.series, 120 + args.ticks, rng)
            drawn = rules(args.rules, rng, args.storm)
            import_rules(store, yaml.safe_dump({"groups": [{"name": "bench", "rules": drawn}]}),
                         "bench")  # fmt: skip
            print(f"setup: {samples:,} samples and scores, {len(drawn)} rules in "
                  f"{time.perf_counter() - started:.1f} s (not timed)", flush=True)  # fmt: skip
            cache = ModelCache()
            for tick in range(args.ticks):
                until = END - pd.Timedelta(minutes=args.ticks - 1 - tick)
                started = time.perf_counter()
                summary = evaluate_window(store, cache, until - pd.Timedelta(minutes=1), until, 60)
                seconds = time.perf_counter() - started
                print(f"tick {tick + 1}: {summary.rules} rules × {summary.evaluations} "
                      f"evaluation times over {args.series:,} series: {summary.alerts:,} "
                      f"alert episodes, {summary.firing:,} firing, in {seconds:.2f} s")  # fmt: skip
        finally:
            store.close()


if __name__ == "__main__":
    main()
