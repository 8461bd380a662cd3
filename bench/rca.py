"""How often root-cause ranking names the service that really broke, on the demo estate.

    python -m bench.rca [--seeds 1 2 3] [--days 14] [--delay 10m]
    python -m bench.rca --synthetic 10000

For every seed: backfill the demo estate into a temporary data dir, fit, score and
evaluate rules as ``vigil demo`` does, then ask :func:`vigil.rca.root_causes` about every
scripted incident at the moment a responder would: when the first alert of the incident
fired, or ten minutes after it began if none did. The incident's root service is compared
with the ranked services; top-1 and top-3 accuracy are printed per seed, per incident
kind and overall. ``--delay`` asks a fixed time after each incident began instead, alerts
or not: a harder test for slow incidents such as leaks. docs/BENCHMARKS.md records the
figures. ``--synthetic N`` instead times the ranking alone on N synthetic series of an
hour each, one in a hundred with a step, to show it scales with the estate.
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

from analytics.rca import rank_root_causes
from vigil.engine import Engine
from vigil.rca import root_causes
from vigil.settings import load_settings
from vigil.store import Store

NO_ALERT_DELAY = pd.Timedelta(minutes=10)


def _build(data_dir: Path, seed: int, days: int) -> None:
    """A demo data dir as `vigil demo` leaves it: backfilled, fitted, scored, evaluated."""
    settings = load_settings(
        data_dir=data_dir, demo_backfill_days=days, demo_seed=seed, host_enabled=False,
        scheduler_enabled=False, training_days=days, http_port=0,
    )  # fmt: skip
    engine = Engine(settings)
    try:
        engine.build_history(days)
    finally:
        engine.stop()


def _incidents(store: Store, delay: pd.Timedelta | None) -> pd.DataFrame:
    """Every scripted incident with the moment to ask about it."""
    if delay is not None:
        frame = store.df(
            "SELECT incident_id, kind, service, started_at FROM incidents "
            "WHERE origin = 'demo' ORDER BY started_at"
        )
        return frame.assign(ask_at=frame["started_at"] + delay)
    return store.df(
        """
        SELECT i.incident_id, i.kind, i.service, i.started_at,
               coalesce(min(a.fired_at), least(i.started_at + ?, i.ended_at)) AS ask_at
        FROM incidents i LEFT JOIN alerts a
          ON a.fired_at >= i.started_at AND a.fired_at <= i.ended_at
        WHERE i.origin = 'demo'
        GROUP BY i.incident_id, i.kind, i.service, i.started_at, i.ended_at
        ORDER BY i.started_at
        """,
        [NO_ALERT_DELAY.to_pytimedelta()],
    )


def _judge(data_dir: Path, seed: int, delay: pd.Timedelta | None) -> pd.DataFrame:
    """One row per incident: where its root service ranked (0 if it was not listed)."""
    settings = load_settings(data_dir=data_dir, demo_seed=seed, http_port=0)
    store = Store.open(data_dir)
    rows = []
    try:
        for incident in _incidents(store, delay).itertuples(index=False):
            result = root_causes(store, settings, at=pd.Timestamp(incident.ask_at))
            ranked = [s.service for s in result.services]
            rank = ranked.index(incident.service) + 1 if incident.service in ranked else 0
            rows.append((seed, incident.incident_id, incident.kind, incident.service, rank,
                         ranked[0] if ranked else "—"))  # fmt: skip
    finally:
        store.close()
    return pd.DataFrame(rows, columns=["seed", "incident", "kind", "root", "rank", "top"])


def _accuracy(frame: pd.DataFrame) -> str:
    top1 = ((frame["rank"] == 1).mean()) if len(frame) else float("nan")
    top3 = ((frame["rank"].between(1, 3)).mean()) if len(frame) else float("nan")
    return f"top-1 {top1:.2f}   top-3 {top3:.2f}   ({len(frame)} incidents)"


def _synthetic(n_series: int, points: int = 60) -> None:
    """Time :func:`rank_root_causes` on ``n_series`` one-minute series, 1 % with a step."""
    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2025-03-03") + pd.to_timedelta(np.arange(points), unit="min")
    values = rng.standard_normal((n_series, points))
    scores = rng.uniform(0, 0.8, (n_series, points))
    stepped = rng.choice(n_series, max(n_series // 100, 1), replace=False)
    values[stepped, 40:] += 8
    scores[stepped, 42:] = 0.99
    points_frame = pd.DataFrame({"series_id": np.repeat(np.arange(n_series), points),
                                 "ts": np.tile(ts, n_series), "value": values.ravel(),
                                 "score": scores.ravel()})  # fmt: skip
    services = [f"svc{i % 50}" for i in range(n_series)]
    info = pd.DataFrame({"series_id": np.arange(n_series), "series_key": [f"m{{id={i}}}" for i in
                         range(n_series)], "metric": "m", "service": services})  # fmt: skip
    graph = {f"svc{i}": (f"svc{i + 1}",) for i in range(49)}
    started = time.perf_counter()
    ranking = rank_root_causes(points_frame, info, graph, end=ts[-1])
    elapsed = time.perf_counter() - started
    print(
        f"{n_series:,} series x {points} points: {elapsed * 1000:.0f} ms, "
        f"{len(ranking.series)} candidate series in {len(ranking.services)} services"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--delay", type=pd.Timedelta, default=None,
                        help="Ask this long after each incident began (e.g. 10m), not at its "
                        "first alert.")  # fmt: skip
    parser.add_argument("--synthetic", type=int, default=0,
                        help="Only time the ranking on this many synthetic series.")  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="Print every miss.")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if args.synthetic:
        _synthetic(args.synthetic)
        return
    results = []
    started = time.perf_counter()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            built = time.perf_counter()
            _build(data_dir, seed, args.days)
            asked = time.perf_counter()
            judged = _judge(data_dir, seed, args.delay)
            per_query = (time.perf_counter() - asked) / max(len(judged), 1)
        print(f"seed {seed}: {_accuracy(judged)}   build {asked - built:.0f} s, "
              f"{per_query * 1000:.0f} ms per ranking", flush=True)  # fmt: skip
        if args.verbose:
            for miss in judged[judged["rank"] != 1].itertuples(index=False):
                print(f"    miss {miss.incident} {miss.kind}: root {miss.root} ranked "
                      f"{miss.rank or 'absent'}, top {miss.top}")  # fmt: skip
        results.append(judged)
    every = pd.concat(results, ignore_index=True)
    for kind, part in every.groupby("kind"):
        print(f"{kind:<16} {_accuracy(part)}")
    print(f"{'overall':<16} {_accuracy(every)}   in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
