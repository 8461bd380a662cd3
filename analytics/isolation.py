"""Isolation forest over the detector features, with its raw score calibrated to [0, 1].

scikit-learn's ``score_samples`` is relative to the forest it came from, so the raw
anomaly (its negation) is mapped through a logistic centred on the 99.9th percentile of
the training anomalies: a point as odd as the oddest training minute scores 0.5, and
0.9 needs clearly more than history ever showed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.ensemble import IsolationForest

MAX_TRAINING_ROWS = 4096
TAIL_QUANTILE = 0.999
N_TREES = 32


@dataclass(frozen=True)
class CalibratedForest:
    forest: IsolationForest
    centre: float
    width: float

    def log_odds(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        raw = -self.forest.score_samples(features)
        return (raw - self.centre) / self.width

    def score(self, features: np.ndarray) -> np.ndarray:
        return expit(self.log_odds(features))


def fit_forest(features: np.ndarray, seed: int = 0) -> CalibratedForest:
    rng = np.random.default_rng(seed)
    if len(features) > MAX_TRAINING_ROWS:
        features = features[rng.choice(len(features), MAX_TRAINING_ROWS, replace=False)]
    forest = IsolationForest(n_estimators=N_TREES, max_samples=256, random_state=seed)
    forest.fit(features)
    raw = -forest.score_samples(features)
    centre = float(np.quantile(raw, TAIL_QUANTILE))
    spread = centre - float(np.median(raw))
    return CalibratedForest(forest, centre, max(spread / 4, 1e-3))
