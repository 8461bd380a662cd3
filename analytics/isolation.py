"""Isolation forest over the detector features, with its raw score calibrated to [0, 1].

scikit-learn's ``score_samples`` is relative to the forest it came from, so the raw
anomaly (its negation) is mapped through a logistic centred on the 99.9th percentile of
the training anomalies: a point as odd as the oddest training minute scores 0.5, and
0.9 needs clearly more than history ever showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit
from sklearn.ensemble import IsolationForest

from analytics.forest_scoring import FlatForest

MAX_TRAINING_ROWS = 4096
TAIL_QUANTILE = 0.999
N_TREES = 32
FLAT_BELOW_ROWS = 1024  # measured crossover: 0.2 ms vs 5.7 ms for one row, even at ~1,500


@dataclass(frozen=True)
class CalibratedForest:
    forest: IsolationForest
    centre: float
    width: float

    @cached_property
    def flat(self) -> FlatForest:
        """The same trees as flat arrays: scores identical, without per-tree dispatch."""
        return FlatForest.from_sklearn(self.forest)

    def __getstate__(self) -> dict[str, object]:
        # the flat copy is rebuilt on first use: artifacts keep only the fitted forest
        return {k: v for k, v in self.__dict__.items() if k != "flat"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        # few rows (an online update): walk the flat trees; many: scikit-learn's own loop
        few = len(features) < FLAT_BELOW_ROWS
        raw = -(self.flat if few else self.forest).score_samples(features)
        return (raw - self.centre) / self.width

    def score(self, features: np.ndarray) -> np.ndarray:
        return expit(self.log_odds(features))


def fit_forest(features: np.ndarray, seed: int = 0) -> Calibration:
    """A forest of one series' own features, calibrated on them."""
    return calibrate_forest(pooled_forest(features, seed), features, seed)


def pooled_forest(features: np.ndarray, seed: int = 0) -> IsolationForest:
    """A forest fitted on feature rows, of one series or sampled across many: features are
    in units of each series' own scale, so one forest can learn the estate's normal shapes
    and every series calibrates it to its own history (:func:`calibrate_forest`)."""
    forest = IsolationForest(n_estimators=N_TREES, max_samples=256, random_state=seed)
    return forest.fit(features[training_rows(len(features), seed)])


@dataclass(frozen=True)
class Calibration:
    """A calibrated forest and the training rows it was calibrated on with their log-odds,
    so a caller can estimate figures over the history without scoring every row again."""

    forest: CalibratedForest
    rows: np.ndarray
    log_odds: np.ndarray


def calibrate_forest(forest: IsolationForest, features: np.ndarray, seed: int = 0) -> Calibration:
    """Centre the logistic on the 99.9th percentile of this series' training anomalies."""
    rows = training_rows(len(features), seed)
    raw = -forest.score_samples(features[rows])
    centre = float(np.quantile(raw, TAIL_QUANTILE))
    spread = centre - float(np.median(raw))
    calibrated = CalibratedForest(forest, centre, max(spread / 4, 1e-3))
    return Calibration(calibrated, rows, (raw - calibrated.centre) / calibrated.width)


def training_rows(rows: int, seed: int) -> np.ndarray:
    """All rows, or ``MAX_TRAINING_ROWS`` of them at random (in order) for long histories."""
    if rows <= MAX_TRAINING_ROWS:
        return np.arange(rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, MAX_TRAINING_ROWS, replace=False))
