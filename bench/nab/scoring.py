"""NAB scoring, as numenta/NAB's sweeper and optimizer compute it, on numpy arrays.

Per file (``nab/sweeper.py``, ``calcSweepScore``): the first 15% of rows (at most 750)
are probationary and not scored. A row inside a window is worth, if detected,
``scaledSigmoid(-(right - i + 1) / width) / scaledSigmoid(-1)`` × tpWeight, where
``scaledSigmoid(x) = 2·sigmoid(-5x) - 1`` (and -1 beyond x > 3); a window counts only its
best, i.e. earliest, detection, and an undetected window costs -fnWeight. A detected row
outside every window costs ``scaledSigmoid((i - prevRight) / (prevWidth - 1))`` ×
fpWeight after a window, and the full -fpWeight before the first one, so alarms just
after a window are nearly free and stray alarms are not.

Corpus (``calcScoreByThreshold`` over all files' rows at once, as NAB's optimizer does):
a detection is ``anomaly_score >= threshold``; every distinct score is a candidate
threshold, swept from the top, and the best total wins (ties: the highest threshold).
The total is normalised as NAB's runner does: 100·(raw - null)/(perfect - null), null
being the detector that never fires (every window missed) and perfect one true positive
at the very start of every window (tpWeight per window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

MAX_TP = 2.0 * float(expit(5.0)) - 1.0  # scaledSigmoid(-1), the earliest possible detection


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's scaled sigmoid: 0.987 at a window's left edge (-1), 0 at its right edge,
    towards -1 for positions after it (exactly -1 beyond 3 window widths)."""
    position = np.asarray(position, dtype=float)
    return np.where(position > 3.0, -1.0, 2.0 * expit(-5.0 * position) - 1.0)


@dataclass(frozen=True)
class Cost:
    tp: float
    fp: float
    fn: float

    @classmethod
    def from_matrix(cls, matrix: dict[str, float]) -> Cost:
        return cls(float(matrix["tpWeight"]), float(matrix["fpWeight"]), float(matrix["fnWeight"]))


@dataclass(frozen=True)
class SweepRows:
    """A file's scorable rows: anomaly score, window index (-1 outside every window) and
    the unweighted NAB value of detecting that row (TP value inside, FP value outside)."""

    anomaly: np.ndarray
    window: np.ndarray
    value: np.ndarray
    windows: int  # windows with at least one scorable row


def sweep_rows(
    anomaly: np.ndarray, windows: Sequence[tuple[int, int]], probation: int
) -> SweepRows:
    """Per-row values of one file (NAB's ``calcSweepScore``), probationary rows dropped."""
    anomaly = np.nan_to_num(np.asarray(anomaly, dtype=float), nan=0.0)
    rows = len(anomaly)
    index = np.arange(rows)
    window = np.full(rows, -1)
    value = np.full(rows, -1.0)  # a detection before any window: the full FP cost
    for k, (first, last) in enumerate(windows):
        width = last - first + 1
        inside = index[first : last + 1]
        window[first : last + 1] = k
        value[first : last + 1] = scaled_sigmoid(-(last - inside + 1) / width) / MAX_TP
        following = (index > last) & (window < 0)
        # NAB divides by width - 1 (and fails on a one-row window); one row stands in there
        value[following] = scaled_sigmoid((index[following] - last) / max(width - 1, 1))
    keep = index >= probation
    scorable = np.unique(window[keep & (window >= 0)])
    relabel = np.full(len(windows) + 1, -1)
    relabel[scorable] = np.arange(len(scorable))
    return SweepRows(anomaly[keep], relabel[window[keep]], value[keep], len(scorable))


@dataclass(frozen=True)
class Curve:
    """Corpus score for every candidate threshold, highest threshold first (inf: none)."""

    thresholds: np.ndarray
    scores: np.ndarray
    tp_windows: np.ndarray
    fp_rows: np.ndarray
    windows: int

    def best(self) -> int:
        """Index of the best threshold; ``argmax`` keeps the first, i.e. highest, on ties."""
        return int(np.argmax(self.scores))


def _at_least(keys: np.ndarray, weights: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, the sum of ``weights`` whose key is >= it."""
    order = np.argsort(keys, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    start = np.searchsorted(keys[order], thresholds, side="left")
    return cumulative[-1] - cumulative[start]


def _window_events(
    anomaly: np.ndarray, window: np.ndarray, value: np.ndarray, cost: Cost
) -> tuple[np.ndarray, np.ndarray]:
    """Where each window's worth changes as the threshold falls: from -fn to its first
    detection, then up each time an earlier (better) row is detected."""
    keys, deltas = [], []
    for k in range(int(window.max()) + 1 if window.size else 0):
        rows = np.flatnonzero(window == k)
        if rows.size == 0:
            continue
        order = rows[np.argsort(-anomaly[rows], kind="stable")]
        worth = np.maximum.accumulate(value[order] * cost.tp)
        keys.append(anomaly[order])
        deltas.append(np.diff(np.concatenate([[-cost.fn], worth])))
    if not keys:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(keys), np.concatenate(deltas)


def _stack(files: Sequence[SweepRows]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """All files' rows, window indices made unique across the corpus."""
    offsets = np.cumsum([0] + [f.windows for f in files])
    anomaly = np.concatenate([f.anomaly for f in files])
    window = np.concatenate(
        [
            np.where(f.window >= 0, f.window + off, -1)
            for f, off in zip(files, offsets, strict=False)
        ]
    )
    value = np.concatenate([f.value for f in files])
    return anomaly, window, value, int(offsets[-1])


def threshold_curve(files: Sequence[SweepRows], cost: Cost) -> Curve:
    """NAB's threshold sweep over the whole corpus, exact: every distinct score is tried."""
    anomaly, window, value, windows = _stack(files)
    thresholds = np.concatenate([[np.inf], np.unique(anomaly)[::-1]])
    outside = window < 0
    fp_score = _at_least(anomaly[outside], value[outside] * cost.fp, thresholds)
    fp_rows = _at_least(anomaly[outside], np.ones(int(outside.sum())), thresholds)
    keys, deltas = _window_events(anomaly, window, value, cost)
    window_score = -cost.fn * windows + _at_least(keys, deltas, thresholds)
    firsts = np.array(
        [anomaly[window == k].max() for k in range(windows)] if windows else [], dtype=float
    )
    tp_windows = _at_least(firsts, np.ones(windows), thresholds)
    return Curve(
        thresholds, fp_score + window_score, tp_windows.round().astype(int),
        fp_rows.round().astype(int), windows,
    )  # fmt: skip


@dataclass(frozen=True)
class FileScore:
    score: float
    tp_windows: int
    windows: int
    fp_rows: int
    credit: float  # unweighted worth of the windows found: 1 each at their first row
    fp_value: float  # unweighted worth of the false positive rows (at most 0)


def score_at(rows: SweepRows, cost: Cost, threshold: float) -> FileScore:
    """One file at a fixed threshold, computed directly (NAB's ``scoreDataSet``)."""
    detected = rows.anomaly >= threshold
    fp = detected & (rows.window < 0)
    fp_value = float(np.sum(rows.value[fp]))
    credit, tp_windows = 0.0, 0
    for k in range(rows.windows):
        hits = detected & (rows.window == k)
        if hits.any():
            credit += float(rows.value[hits].max())
            tp_windows += 1
    missed = rows.windows - tp_windows
    score = fp_value * cost.fp + credit * cost.tp - missed * cost.fn
    return FileScore(score, tp_windows, rows.windows, int(fp.sum()), credit, fp_value)


@dataclass(frozen=True)
class Losses:
    """Where a normalised score's distance to 100 goes, in the same points. They add up:
    score + misses + false_positives + lateness + unscorable = 100."""

    misses: float  # each missed window: its fnWeight and the tpWeight a detection earns
    false_positives: float
    lateness: float  # windows found after their first row: NAB pays in full only there
    unscorable: float  # windows NAB's perfect score counts that lie inside the probation


def losses(per_file: Sequence[FileScore], cost: Cost, labelled_windows: int) -> Losses:
    """The distance to a perfect score of files scored at one threshold, by cause."""
    windows = sum(s.windows for s in per_file)
    found = sum(s.tp_windows for s in per_file)
    span = cost.tp * labelled_windows + cost.fn * windows  # perfect minus null

    def points(raw: float) -> float:
        return 100.0 * raw / span

    return Losses(
        misses=points((windows - found) * (cost.tp + cost.fn)),
        false_positives=points(-cost.fp * sum(s.fp_value for s in per_file)),
        lateness=points(cost.tp * (found - sum(s.credit for s in per_file))),
        unscorable=points(cost.tp * (labelled_windows - windows)),
    )


def normalise(raw: float, null: float, perfect: float) -> float:
    """NAB's 0-100 scale: the null detector scores 0, the perfect one 100."""
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class CorpusScore:
    threshold: float
    raw: float
    score: float  # normalised
    tp_windows: int
    windows: int
    fp_rows: int


def score_corpus(files: Sequence[SweepRows], cost: Cost, labelled_windows: int) -> CorpusScore:
    """Best threshold for the corpus and its normalised score. ``labelled_windows`` is every
    window in the labels (NAB's perfect score counts them all, scorable or not)."""
    curve = threshold_curve(files, cost)
    best = curve.best()
    null = -cost.fn * curve.windows
    perfect = cost.tp * labelled_windows
    raw = float(curve.scores[best])
    return CorpusScore(
        float(curve.thresholds[best]), raw, normalise(raw, null, perfect),
        int(curve.tp_windows[best]), curve.windows, int(curve.fp_rows[best]),
    )  # fmt: skip
