"""A labelled corpus of known failures in NAB's layout, to check the detector beyond NAB.

    python -m bench.nab.synthetic --out DIR [--seed N] [--per-failure N]
    python -m bench.nab --data DIR/data --labels DIR/labels/combined_windows.json \\
        --out DIR/results

The development set is 35 real series; a detector tuned on them can learn their quirks.
This corpus is built from what an SRE watches (:mod:`bench.nab.processes`: traffic, CPU,
a machine room's temperature, a nightly batch job, a bursty queue, a filling disk) with
one kind of failure injected into each series (:mod:`bench.nab.failures`; the folder is
the failure's name, ``no_failure`` holds series with none). Series are sampled every
minute for a week, every five minutes for three weeks or hourly for three months; every
other one has jittered timestamps, dropped rows and a gap of a few hours. Labels are
where each failure was injected, and windows are sized and centred as NAB's are (a tenth
of the file shared among its windows, centred on each label), so the harness scores this
corpus exactly as it scores NAB. ``anomalies.csv`` lists every injected failure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.nab.failures import FAILURES, Failure, Normal, Series
from bench.nab.processes import DAY, PROCESSES, Process

START = np.datetime64("2026-01-05T00:00:00", "s")  # a Monday
NO_FAILURE = "no_failure"
PLACED_FROM, PLACED_TO = 0.3, 0.95  # failures start in this share of the rows
WINDOW_SHARE = 0.1  # NAB's window: a tenth of the file, shared among its labels
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# NAB's three profiles (numenta/NAB config/profiles.json), so the layout is complete
PROFILES = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0},
}


@dataclass(frozen=True)
class Sampling:
    name: str
    step: int  # seconds
    days: int


SAMPLINGS = (Sampling("1min", 60, 7), Sampling("5min", 300, 21), Sampling("1h", 3600, 90))


@dataclass(frozen=True)
class Labelled:
    """One series of the corpus: its values, the normal it was made from, its labels."""

    relative_path: str
    failure: str
    process: str
    sampling: str
    irregular: bool
    ts: np.ndarray  # datetime64[s], strictly increasing
    values: np.ndarray
    normal: np.ndarray  # the same series without the failure
    labels: tuple[int, ...]  # rows where each failure becomes visible

    @property
    def windows(self) -> list[tuple[int, int]]:
        """NAB's windows: a tenth of the rows shared among the labels, centred on each."""
        if not self.labels:
            return []
        half = int(WINDOW_SHARE * self.values.size / len(self.labels)) // 2
        last = self.values.size - 1
        return [(max(row - half, 0), min(row + half, last)) for row in self.labels]


def offsets(sampling: Sampling, irregular: bool, rng: np.random.Generator) -> np.ndarray:
    """Seconds from ``START`` of each row. Irregular series have timestamps jittered by up
    to a fifth of a step, one row in a hundred dropped and a gap of two to twelve hours."""
    rows = sampling.days * int(DAY) // sampling.step
    t = np.arange(rows, dtype=float) * sampling.step
    if not irregular:
        return t
    t = np.round(t + rng.uniform(-0.2, 0.2, rows) * sampling.step)
    gap_from = t[int(rng.uniform(0.2, 0.9) * rows)]
    gap = (t >= gap_from) & (t < gap_from + rng.uniform(2, 12) * 3600)
    return t[~gap & (rng.random(rows) >= 0.01)]


def failure_starts(rows: int, failure: Failure, rng: np.random.Generator) -> list[int]:
    """Where each failure starts: one per equal stretch of the placed share, early in its
    stretch so it is over before the next begins; a lasting failure is the only one."""
    count = 1 if failure.lasting else int(rng.integers(1, failure.most + 1))
    edges = np.linspace(PLACED_FROM * rows, PLACED_TO * rows, count + 1)
    share = rng.uniform(0.1, 0.6 if failure.lasting else 0.4, count)
    return [int(lo + s * (hi - lo)) for lo, hi, s in zip(edges[:-1], edges[1:], share, strict=True)]


def make_series(
    failure: Failure | None,
    process: Process,
    sampling: Sampling,
    irregular: bool,
    seed: np.random.SeedSequence,
) -> Labelled:
    """One series: the process's normal on its timestamps, then its failures in order."""
    layout, noise, harm = (np.random.default_rng(s) for s in seed.spawn(3))
    t = offsets(sampling, irregular, layout)
    noise_state = noise.bit_generator.state
    normal = process.generate(t, np.ones(t.size), noise)
    noise.bit_generator.state = noise_state
    habitless = process.generate(t, np.zeros(t.size), noise)
    values, labels = normal.copy(), []
    if failure is not None:
        series = Series(t, Normal.of(normal, process), habitless)
        labels = [
            failure.inject(values, series, start, harm)
            for start in failure_starts(t.size, failure, layout)
        ]
    name = failure.name if failure else NO_FAILURE
    return Labelled(
        f"{name}/{process.name}_{sampling.name}{'_irregular' if irregular else ''}.csv",
        name,
        process.name,
        sampling.name,
        irregular,
        START + t.astype("timedelta64[s]"),
        values,
        normal,
        tuple(labels),
    )


def corpus(seed: int, per_failure: int) -> list[Labelled]:
    """``per_failure`` series of each failure and of none, each a different pairing of
    process and sampling (drawn by the seed), every other one irregular."""
    root = np.random.SeedSequence(seed)
    pick = np.random.default_rng(root.spawn(1)[0])
    made = []
    for failure in (*FAILURES.values(), None):
        names = failure.processes if failure else tuple(PROCESSES)
        pairs = list(itertools.product(names, SAMPLINGS))
        for i, k in enumerate(pick.permutation(len(pairs))[:per_failure]):
            process, sampling = pairs[k]
            file_seed = np.random.SeedSequence([seed, len(made)])
            made.append(make_series(failure, PROCESSES[process], sampling, i % 2 == 1, file_seed))
    return made


def write_corpus(out: Path, series: list[Labelled]) -> None:
    """NAB's layout: ``data/<category>/<file>.csv``, ``labels/combined_windows.json`` and
    ``profiles.json`` beside them (where the harness looks), plus ``anomalies.csv``."""
    windows, injected = {}, []
    for s in series:
        path = out / "data" / s.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = pd.DatetimeIndex(s.ts)
        pd.DataFrame({"timestamp": stamps.strftime(TIME_FORMAT), "value": s.values}).to_csv(
            path, index=False
        )
        windows[s.relative_path] = [
            [
                stamps[a].strftime(TIME_FORMAT) + ".000000",
                stamps[b].strftime(TIME_FORMAT) + ".000000",
            ]
            for a, b in s.windows
        ]
        injected += [
            (
                s.relative_path,
                s.failure,
                s.process,
                s.sampling,
                s.irregular,
                stamps[row].strftime(TIME_FORMAT),
            )
            for row in s.labels
        ]
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=2) + "\n")
    (out / "profiles.json").write_text(
        json.dumps({name: {"CostMatrix": m} for name, m in PROFILES.items()}, indent=2) + "\n"
    )
    columns = ["file", "failure", "process", "sampling", "irregular", "label"]
    pd.DataFrame(injected, columns=columns).to_csv(out / "anomalies.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a new or empty directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-failure", type=int, default=4, help="series per kind of failure")
    args = parser.parse_args(argv)
    if args.per_failure < 1:
        parser.error("--per-failure must be at least 1")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"{args.out} exists and is not an empty directory; nothing was written")
    series = corpus(args.seed, args.per_failure)
    write_corpus(args.out, series)
    print(
        f"{len(series)} series, {sum(s.values.size for s in series):,} rows, "
        f"{sum(len(s.labels) for s in series)} labelled failures in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
