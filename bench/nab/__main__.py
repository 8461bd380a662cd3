"""Run detectors over a NAB-format corpus and score them as NAB does.

    python -m bench.nab --data DIR --labels FILE --out DIR
        [--detectors vigil,windowed_gaussian,iforest[,vigil_score]] [--profiles FILE]
        [--jobs N]
        [--score-only]

Writes NAB result files ``<out>/<detector>/<category>/<detector>_<file>``, a per-file
breakdown ``<out>/<detector>/<detector>_<profile>_scores.csv`` at the chosen threshold,
and prints progress while the detectors run, then one table per profile (each detector's
score and what it lost to missed windows, false positives, late detections and windows
inside the probation), the first profile's windows found and false positives per
category, and the wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

from bench.nab.corpus import (
    DataFile,
    load_profiles,
    read_corpus,
    read_result_scores,
    write_result,
)
from bench.nab.detectors import DEFAULT_DETECTORS, DETECTORS
from bench.nab.scoring import (
    CorpusScore,
    Cost,
    Losses,
    losses,
    score_at,
    score_corpus,
    sweep_rows,
)
from bench.progress import every_tenth


def _detect(detector: str, data_file: DataFile) -> tuple[str, str, np.ndarray, float]:
    started = time.perf_counter()
    scores = DETECTORS[detector](data_file.ts, data_file.values, data_file.probation)
    return detector, data_file.relative_path, scores, time.perf_counter() - started


def detect(
    files: list[DataFile],
    detectors: list[str],
    out: Path,
    jobs: int,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[str, float]:
    """Run every detector on every file (largest files first, to balance the pool) and
    write the result files as they finish, calling ``progress(done, total)`` after each;
    returns the summed compute seconds per detector."""
    by_path = {f.relative_path: f for f in files}
    tasks = sorted(
        ((d, f) for d in detectors for f in files), key=lambda task: -len(task[1].values)
    )
    seconds = dict.fromkeys(detectors, 0.0)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_detect, d, f) for d, f in tasks]
        for done, future in enumerate(as_completed(futures), start=1):
            detector, path, scores, elapsed = future.result()
            write_result(out, detector, by_path[path], scores)
            seconds[detector] += elapsed
            progress(done, len(futures))
    return seconds


def evaluate(
    files: list[DataFile], detector: str, profiles: dict[str, dict[str, float]], out: Path
) -> dict[str, tuple[CorpusScore, Losses]]:
    """Score one detector's result files under every profile, with what its score lost to
    each cause; per-file rows are written next to the results so misses and false alarms
    can be traced to files."""
    rows = [sweep_rows(read_result_scores(out, detector, f), f.windows, f.probation) for f in files]
    labelled = sum(len(f.windows) for f in files)
    results = {}
    for profile, matrix in profiles.items():
        cost = Cost.from_matrix(matrix)
        result = score_corpus(rows, cost, labelled)
        per_file = [score_at(r, cost, result.threshold) for r in rows]
        pd.DataFrame(
            {
                "file": [f.relative_path for f in files],
                "threshold": result.threshold,
                "score": [s.score for s in per_file],
                "tp_windows": [s.tp_windows for s in per_file],
                "windows": [s.windows for s in per_file],
                "fp_rows": [s.fp_rows for s in per_file],
            }
        ).to_csv(out / detector / f"{detector}_{profile}_scores.csv", index=False)
        results[profile] = result, losses(per_file, cost, labelled)
    return results


def table(profile: str, results: dict[str, dict[str, tuple[CorpusScore, Losses]]]) -> str:
    """One profile's table. The "lost to" columns and the score add up to 100: what to
    work on is read off them (a window missed, a false alarm, a late detection)."""
    lines = [
        f"{profile}",
        "",
        "| detector | score | threshold | TP windows | FP rows "
        "| lost to misses | to false positives | to lateness | to probation |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for detector, by_profile in results.items():
        r, lost = by_profile[profile]
        threshold = "none" if np.isinf(r.threshold) else f"{r.threshold:.6g}"
        lines.append(
            f"| {detector} | {r.score:.1f} | {threshold} | {r.tp_windows} / {r.windows} "
            f"| {r.fp_rows} | {lost.misses:z.1f} | {lost.false_positives:z.1f} "
            f"| {lost.lateness:z.1f} | {lost.unscorable:z.1f} |"
        )
    return "\n".join(lines)


def category_table(out: Path, detectors: list[str], profile: str) -> str:
    """Windows found and false positive rows per category (per kind of failure in the
    synthetic corpus), read from the per-file scores :func:`evaluate` wrote: a total hides
    which kind of anomaly a detector never sees."""
    frames = {d: pd.read_csv(out / d / f"{d}_{profile}_scores.csv") for d in detectors}
    first = next(iter(frames.values()))
    category = first["file"].str.split("/").str[0]
    windows = first.groupby(category)["windows"].sum()
    lines = [
        f"{profile}, by category (windows found / labelled, false positive rows)",
        "",
        "| category | " + " | ".join(detectors) + " |",
        "|---|" + "---|" * len(detectors),
    ]
    found = {d: f.groupby(category)[["tp_windows", "fp_rows"]].sum() for d, f in frames.items()}
    for name, labelled in windows.items():
        cells = [
            f"{found[d].at[name, 'tp_windows']} / {labelled}, {found[d].at[name, 'fp_rows']}"
            for d in detectors
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--detectors", default=",".join(DEFAULT_DETECTORS))
    parser.add_argument("--profiles", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--score-only", action="store_true", help="re-score existing results")
    args = parser.parse_args()
    started = time.perf_counter()
    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    unknown = sorted(set(detectors) - set(DETECTORS))
    if unknown:
        parser.error(f"unknown detector(s) {unknown}; known: {sorted(DETECTORS)}")
    profiles = load_profiles(args.profiles or args.labels.resolve().parent.parent / "profiles.json")
    files = read_corpus(args.data, args.labels)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {len(files)} files, "
        f"{sum(len(f.values) for f in files):,} rows, {sum(len(f.windows) for f in files)} windows",
        flush=True,
    )
    if not args.score_only:
        runs = detect(files, detectors, args.out, args.jobs, every_tenth("detected", started))
        for detector, seconds in runs.items():
            print(f"detect {detector:<18} {seconds:8.1f} s compute", flush=True)
    results = {d: evaluate(files, d, profiles, args.out) for d in detectors}
    for profile in profiles:
        print()
        print(table(profile, results))
    print()
    print(category_table(args.out, detectors, next(iter(profiles))))
    print(f"\nwall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
