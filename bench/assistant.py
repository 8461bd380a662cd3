"""How long the assistant takes to answer in evidence mode on the demo estate (target: under
2 s per answer).

    python -m bench.assistant [--days 7] [--seed 1] [--data-dir D]

Backfills the demo estate into a temporary data dir (or uses ``--data-dir`` as it is),
indexes the runbooks and incidents, then asks the assistant about every scripted incident
ten minutes after it began, as a responder would: "why is checkout slow?" for latency
cascades, "what is wrong with <service>?" otherwise. No language model is configured, so
every answer is the evidence-mode answer: root-cause ranking, similar incidents, runbook
passages, and the conversation written to the database. Each ``ask`` is timed whole.
docs/BENCHMARKS.md records the figures.
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

from knowledge.assistant import Assistant
from knowledge.base import KnowledgeBase
from vigil.engine import Engine
from vigil.settings import Settings, load_settings
from vigil.store import Store

RUNBOOKS = Path(__file__).resolve().parents[1] / "data" / "runbooks"
ASK_AFTER = pd.Timedelta(minutes=10)
TARGET_SECONDS = 2.0


def _settings(data_dir: Path, seed: int, days: int) -> Settings:
    return load_settings(data_dir=data_dir, demo_backfill_days=days, demo_seed=seed,
                         training_days=days, host_enabled=False, scheduler_enabled=False,
                         http_port=0, runbooks_dir=RUNBOOKS, llm_base_url=None)  # fmt: skip


def _build(settings: Settings, days: int) -> None:
    """A demo data dir as `vigil demo` leaves it: backfilled, fitted, scored, evaluated."""
    engine = Engine(settings)
    try:
        engine.build_history(days)
        engine.reindex_knowledge()
    finally:
        engine.stop()


def _question(kind: str, service: str) -> str:
    return (
        "why is checkout slow?" if kind == "latency_cascade" else f"what is wrong with {service}?"
    )


def _measure(settings: Settings) -> pd.DataFrame:
    store = Store.open(settings.data_dir)
    kb = KnowledgeBase.open(settings)
    rows = []
    try:
        incidents = store.df(
            "SELECT incident_id, kind, service, started_at FROM incidents WHERE origin = 'demo' "
            "ORDER BY started_at"
        )
        for incident in incidents.itertuples(index=False):
            at = pd.Timestamp(incident.started_at) + ASK_AFTER
            assistant = Assistant(store, settings, kb, clock=lambda at=at: at)
            started = time.perf_counter()
            answer = assistant.ask(_question(incident.kind, incident.service))
            seconds = time.perf_counter() - started
            top = answer.candidates[0]["service"] if answer.candidates else "—"
            rows.append((incident.kind, incident.service, top, answer.mode, seconds))
    finally:
        kb.close()
        store.close()
    return pd.DataFrame(rows, columns=["kind", "root", "top", "mode", "seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="An existing demo data dir to use as it is.")  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        settings = _settings(data_dir, args.seed, args.days)
        if args.data_dir is None:
            built = time.perf_counter()
            _build(settings, args.days)
            print(f"demo estate: {args.days} days, seed {args.seed}, built in "
                  f"{time.perf_counter() - built:.0f} s")  # fmt: skip
        frame = _measure(settings)
    seconds = frame["seconds"].to_numpy()
    modes = ", ".join(sorted(set(frame["mode"])))
    print(f"{len(frame)} evidence answers ({modes}): first {seconds[0]:.3f} s, median "
          f"{np.median(seconds):.3f} s, p95 {np.quantile(seconds, 0.95):.3f} s, max "
          f"{seconds.max():.3f} s (target < {TARGET_SECONDS:.0f} s)")  # fmt: skip
    top1 = (frame["root"] == frame["top"]).mean()
    print(f"root service ranked first in {top1:.2f} of the answers")
    for kind, group in frame.groupby("kind"):
        print(f"  {kind:<16} {len(group):>3} answers, median {group['seconds'].median():.3f} s, "
              f"top-1 {(group['root'] == group['top']).mean():.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
