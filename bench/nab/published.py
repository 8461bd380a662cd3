"""Published NAB detectors' scores restricted to a corpus subset, for orientation.

    python -m bench.nab.published --labels FILE [--profiles FILE] SCORES.csv [SCORES.csv ...]

NAB's repository keeps, per detector and profile, ``results/<detector>/<detector>_<profile>
_scores.csv``: each file's raw score at the threshold NAB chose for the full corpus. Summing
the rows of the files in ``--labels`` and normalising as the harness does (null detector 0,
perfect 100) says what that detector scores on the subset, without rerunning it. The
threshold stays the full-corpus one, so a subset-optimised threshold could only score higher.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench.nab.corpus import load_profiles
from bench.nab.scoring import normalise


def subset_score(scores: pd.DataFrame, windows: dict[str, list], cost: dict[str, float]) -> float:
    """Normalised score of the rows of ``scores`` whose file is in ``windows``."""
    rows = scores[scores["File"].isin(windows)]
    missing = set(windows) - set(rows["File"])
    if missing:
        raise ValueError(f"no published score for {sorted(missing)[:3]}")
    count = sum(len(w) for w in windows.values())
    return normalise(
        float(rows["Score"].sum()), -cost["fnWeight"] * count, cost["tpWeight"] * count
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--profiles", type=Path, default=None)
    parser.add_argument("scores", type=Path, nargs="+")
    args = parser.parse_args()
    windows = json.loads(args.labels.read_text())
    profiles = load_profiles(args.profiles or args.labels.resolve().parent.parent / "profiles.json")
    print("| detector | profile | score on this subset |\n|---|---|---|")
    for path in args.scores:
        scores = pd.read_csv(path)
        scores = scores[scores["File"].notna() & (scores["Detector"] != "Totals")]
        detector, profile = str(scores["Detector"].iloc[0]), str(scores["Profile"].iloc[0])
        score = subset_score(scores, windows, profiles[profile])
        print(f"| {detector} | {profile} | {score:.1f} |")


if __name__ == "__main__":
    main()
