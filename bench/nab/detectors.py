"""Detectors the NAB harness runs, each online: the score of row i uses rows <= i only.

- ``vigil``: Vigil's own detector (:mod:`analytics.detector`) run as the engine runs it:
  first fitted once a series has the refit job's minimum history (``MIN_POINTS``), then
  refitted every six hours of data on the last 14 days (the engine's defaults), each
  stretch scored with the newest model. What NAB reads is the detector's onset score
  (:mod:`analytics.onsets`): a point's score where it beats the hours before it, which is
  what a page or a "new anomaly" marker is raised on. The onsets remember the
  probationary rows' scores as the engine remembers a new series' first day: NAB does
  not score those rows, but an incident seen there is not news just after them.
- ``vigil_score``: the same detector's per-point score itself, before onsets (not run by
  default; ``--detectors vigil_score`` shows what the onset step adds).
- ``windowed_gaussian``: NAB's reference detector (``nab/detectors/gaussian``): the tail
  probability of each value under a Gaussian of the previous values in a 6400-row window
  that slides by 100 rows.
- ``iforest``: a plain scikit-learn IsolationForest on raw values, fitted on the
  probationary rows, its score min-max calibrated to [0, 1] on those training rows.

NAB does not score the probationary rows, whatever a detector writes there.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import erfc
from sklearn.ensemble import IsolationForest

from analytics.detector import fit_detector, score_series
from analytics.onsets import onset_scores
from jobs.refit import MIN_POINTS
from jobs.scoring import CONTEXT as SCORING_CONTEXT
from vigil.settings import Settings

GAUSSIAN_WINDOW = 6400
GAUSSIAN_STEP = 100
GAUSSIAN_MIN_STD = 1e-6
_DEFAULTS = Settings.model_fields
REFIT_EVERY = np.timedelta64(_DEFAULTS["refit_interval_seconds"].default, "s")
TRAINING = np.timedelta64(_DEFAULTS["training_days"].default, "D")
CONTEXT = SCORING_CONTEXT.to_timedelta64()

Detector = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def step_seconds(ts: np.ndarray) -> int:
    """Median spacing in whole seconds (NAB files are 5-minute, some hourly, a few gappy)."""
    gaps = np.diff(ts).astype("timedelta64[s]").astype(np.int64)
    gaps = gaps[gaps > 0]
    return int(np.median(gaps)) if gaps.size else 60


def in_order(ts: np.ndarray) -> np.ndarray:
    """Rows whose timestamp is later than every earlier row's. A few NAB files repeat or
    step back in time; the store keeps one sample per timestamp, so the detector never
    sees those rows (they score 0), and what it sees stays in time order."""
    as_int = ts.astype(np.int64)
    earlier_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(as_int)[:-1]])
    return as_int > earlier_max


def vigil(ts: np.ndarray, values: np.ndarray, probation: int) -> np.ndarray:
    """Onsets of Vigil's detector score: see :func:`vigil_score` and :mod:`analytics.onsets`."""
    scores = vigil_score(ts, values, probation)
    keep = np.flatnonzero(in_order(ts))
    onsets = np.zeros(len(values))
    onsets[keep] = onset_scores(ts[keep], scores[keep])
    return onsets


def vigil_score(ts: np.ndarray, values: np.ndarray, probation: int) -> np.ndarray:
    """Vigil's detector as the engine runs it: first fitted on the first ``MIN_POINTS``
    rows, then refitted every ``REFIT_EVERY`` of data on the last ``TRAINING`` of history,
    each stretch scored by the newest model with a day of context before it (the engine's
    defaults, so the harness measures what users run). ``probation`` is not used: the
    engine does not wait for 15% of a series before scoring it."""
    del probation
    scores = np.zeros(len(values))
    keep = np.flatnonzero(in_order(ts))
    ts, values = ts[keep], values[keep]
    step = step_seconds(ts)
    start = min(MIN_POINTS, len(ts))
    while start < len(ts):
        end = max(int(np.searchsorted(ts, ts[start] + REFIT_EVERY)), start + 1)
        first = int(np.searchsorted(ts, ts[start] - TRAINING))
        context = int(np.searchsorted(ts, ts[start] - CONTEXT))
        model = fit_detector(ts[first:start], values[first:start], step_seconds=step)
        frame = score_series(model, ts[context:end], values[context:end], score_from=ts[start])
        scored = np.searchsorted(ts[start:end], frame["ts"].to_numpy("datetime64[ns]"))
        segment = np.zeros(end - start)
        segment[scored] = np.nan_to_num(frame["score"].to_numpy(float), nan=0.0)
        scores[keep[start:end]] = segment
        start = end
    return scores


def _tail_probability(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """NAB's ``normalProbability``: P(X > |x - mean|) under the window's Gaussian."""
    z = np.abs(values - mean) / std
    return 0.5 * erfc(z / math.sqrt(2.0))


def windowed_gaussian(ts: np.ndarray, values: np.ndarray, probation: int) -> np.ndarray:
    """NAB's windowed Gaussian, vectorised. Row i is scored against the window as it was
    before i: rows [0, i) while the window fills, then [100k, 6400 + 100k) with
    k = (i - 6400) // 100, since the window jumps forward once 100 new rows are buffered."""
    del ts, probation  # NAB's detector scores every row from the second one
    rows = len(values)
    mean, std = np.zeros(rows), np.ones(rows)
    filling = min(rows, GAUSSIAN_WINDOW + 1)
    if filling > 1:
        shift = values[0]  # centring keeps the running variance exact for large values
        history = pd.Series(values[: filling - 1] - shift).expanding()
        mean[1:filling] = history.mean().to_numpy() + shift
        std[1:filling] = history.std(ddof=0).to_numpy()
    for k, first in enumerate(range(GAUSSIAN_WINDOW, rows, GAUSSIAN_STEP)):
        window = values[k * GAUSSIAN_STEP : GAUSSIAN_WINDOW + k * GAUSSIAN_STEP]
        mean[first : first + GAUSSIAN_STEP] = window.mean()
        std[first : first + GAUSSIAN_STEP] = window.std()
    std = np.where(std == 0.0, GAUSSIAN_MIN_STD, std)
    scores = 1.0 - _tail_probability(values, mean, std)
    scores[:1] = 0.0
    return scores


def iforest(ts: np.ndarray, values: np.ndarray, probation: int) -> np.ndarray:
    """IsolationForest on raw values: fitted once on the probationary rows, so each later
    row's score depends on that training data and the row itself only."""
    del ts
    scores = np.zeros(len(values))
    train = values[:probation].reshape(-1, 1)
    if probation < 2 or len(values) <= probation:
        return scores
    forest = IsolationForest(random_state=0).fit(train)
    trained = -forest.score_samples(train)
    low, high = float(trained.min()), float(trained.max())
    raw = -forest.score_samples(values[probation:].reshape(-1, 1))
    span = high - low
    scores[probation:] = np.clip((raw - low) / span, 0.0, 1.0) if span > 0 else raw > high
    return scores


DETECTORS: dict[str, Detector] = {
    "vigil": vigil,
    "windowed_gaussian": windowed_gaussian,
    "iforest": iforest,
    "vigil_score": vigil_score,
}
DEFAULT_DETECTORS = ("vigil", "windowed_gaussian", "iforest")
