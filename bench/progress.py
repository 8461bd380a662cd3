"""Progress lines for benchmarks whose timed phase runs for minutes."""

from __future__ import annotations

import time
from collections.abc import Callable


def every_tenth(verb: str, started: float) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback printing ``  <verb> done/total at s`` at every
    tenth of the work and at its end, timed from ``started`` (a ``perf_counter`` reading)."""
    shown = [0]

    def show(done: int, total: int) -> None:
        if done == total or done - shown[0] >= max(1, total // 10):
            shown[0] = done
            print(f"  {verb} {done}/{total} at {time.perf_counter() - started:.1f} s", flush=True)

    return show
