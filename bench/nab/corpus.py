"""Reading and writing the NAB layout: data CSVs, label windows, profiles, result files.

NAB keys everything by the path of a data file relative to the data directory
(``category/file.csv``); windows are ``[start, end]`` timestamps that name rows of that
file. Here windows become inclusive row ranges once, so the scorer works on row indices
only, as NAB's sweeper does (its positions are row counts, not elapsed time).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PROBATION_SHARE = 0.15
PROBATION_CAP_ROWS = 5000  # NAB caps the probationary period at 15% of 5000 rows


@dataclass(frozen=True)
class DataFile:
    """One series of the corpus with its labelled windows as inclusive row ranges."""

    relative_path: str  # "category/file.csv", NAB's key
    ts: np.ndarray  # datetime64[ns], in file order (not always monotonic in NAB)
    values: np.ndarray
    windows: tuple[tuple[int, int], ...] = field(default=())

    @property
    def category(self) -> str:
        return self.relative_path.split("/")[0]

    @property
    def name(self) -> str:
        return self.relative_path.split("/")[-1]

    @property
    def probation(self) -> int:
        return probation_length(len(self.values))


def probation_length(rows: int) -> int:
    """NAB's probationary period: min(floor(15% of rows), 15% of 5000)."""
    return int(min(math.floor(PROBATION_SHARE * rows), PROBATION_SHARE * PROBATION_CAP_ROWS))


def window_rows(ts: np.ndarray, limits: list[list[str]]) -> tuple[tuple[int, int], ...]:
    """Row ranges of the windows. NAB looks each limit up by exact timestamp (first
    occurrence); a limit that names no row falls back to the rows inside the interval."""
    ranges = []
    for start_text, end_text in limits:
        start, end = np.datetime64(pd.Timestamp(start_text)), np.datetime64(pd.Timestamp(end_text))
        exact_start, exact_end = np.flatnonzero(ts == start), np.flatnonzero(ts == end)
        inside = np.flatnonzero((ts >= start) & (ts <= end))
        if inside.size == 0:
            continue
        first = int(exact_start[0]) if exact_start.size else int(inside[0])
        last = int(exact_end[0]) if exact_end.size else int(inside[-1])
        ranges.append((first, last))
    return tuple(sorted(ranges))


def label_vector(rows: int, windows: tuple[tuple[int, int], ...]) -> np.ndarray:
    labels = np.zeros(rows, dtype=np.int8)
    for first, last in windows:
        labels[first : last + 1] = 1
    return labels


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(path)
    ts = np.asarray(pd.to_datetime(frame["timestamp"]), dtype="datetime64[ns]")
    return ts, frame["value"].to_numpy(dtype=float)


def read_corpus(data_dir: Path, labels_path: Path) -> list[DataFile]:
    """Every labelled CSV under ``data_dir``; like NAB's runner, files without an entry in
    the labels are not part of the benchmark."""
    labels = json.loads(Path(labels_path).read_text())
    files = []
    for path in sorted(Path(data_dir).glob("*/*.csv")):
        relative = f"{path.parent.name}/{path.name}"
        if relative not in labels:
            continue
        ts, values = read_series(path)
        files.append(DataFile(relative, ts, values, window_rows(ts, labels[relative])))
    if not files:
        raise FileNotFoundError(f"no labelled CSV files under {data_dir}")
    return files


def load_profiles(path: Path) -> dict[str, dict[str, float]]:
    """Profile name → cost matrix (tpWeight, fpWeight, fnWeight)."""
    raw = json.loads(Path(path).read_text())
    return {name: dict(profile["CostMatrix"]) for name, profile in raw.items()}


def result_path(out_dir: Path, detector: str, data_file: DataFile) -> Path:
    """NAB's results layout: ``<out>/<detector>/<category>/<detector>_<file>``."""
    return Path(out_dir) / detector / data_file.category / f"{detector}_{data_file.name}"


def write_result(out_dir: Path, detector: str, data_file: DataFile, scores: np.ndarray) -> Path:
    path = result_path(out_dir, detector, data_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(data_file.ts).strftime("%Y-%m-%d %H:%M:%S"),
            "value": data_file.values,
            "anomaly_score": scores,
            "label": label_vector(len(scores), data_file.windows),
        }
    ).to_csv(path, index=False)
    return path


def read_result_scores(out_dir: Path, detector: str, data_file: DataFile) -> np.ndarray:
    scores = pd.read_csv(result_path(out_dir, detector, data_file))["anomaly_score"]
    if len(scores) != len(data_file.values):
        raise ValueError(f"{detector} result for {data_file.relative_path} has the wrong length")
    return scores.to_numpy(dtype=float)
