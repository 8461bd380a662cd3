"""Time from an empty data dir to a running engine on the embedded default.

    python -m bench.startup [--days 14]

This is what a new user waits for after `make run`: backfill of the demo estate and
this host, model fitting, and the replay of the rules over the backfill. Prints the time
each phase was first seen and the time to "running".
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from vigil.engine import get_engine, reset_engine
from vigil.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", demo_backfill_days=args.days)
        started = time.perf_counter()
        engine = get_engine(settings)
        seen: set[str] = set()
        try:
            while True:
                phase = engine.status().phase
                if phase not in seen:
                    seen.add(phase)
                    print(f"{time.perf_counter() - started:6.1f} s  {phase}", flush=True)
                if phase in ("running", "failed"):
                    break
                time.sleep(0.2)
            firing = engine.store.one("SELECT count(*) FROM alerts WHERE fired_at IS NOT NULL")
            print(f"alert episodes that fired during the backfill: {firing}")
        finally:
            reset_engine()


if __name__ == "__main__":
    main()
