"""The flat forest scores exactly as scikit-learn's IsolationForest does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from analytics.forest_scoring import FlatForest, average_path_length


@pytest.mark.parametrize(
    ("rows", "max_samples", "max_features", "seed"),
    [(5000, 256, 1.0, 0), (300, 64, 0.5, 1), (40, "auto", 1.0, 2), (3000, 256, 0.75, 3)],
)
def test_scores_equal_scikit_learn(rows: int, max_samples, max_features: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    train = rng.standard_t(3, size=(rows, 4))
    train[:, 2] = np.round(train[:, 2])  # ties and repeated values
    forest = IsolationForest(
        n_estimators=32, max_samples=max_samples, max_features=max_features, random_state=seed
    ).fit(train)
    probe = np.vstack([rng.standard_t(3, size=(500, 4)) * 3, train[:50]])
    np.testing.assert_allclose(
        FlatForest.from_sklearn(forest).score_samples(probe),
        forest.score_samples(probe),
        rtol=1e-12,
    )


def test_average_path_length_matches_the_definition() -> None:
    values = average_path_length(np.array([0, 1, 2, 3, 256]))
    assert values[:3].tolist() == [0.0, 0.0, 1.0]
    harmonic = sum(1.0 / k for k in range(1, 255))  # H(n-1) for n = 256
    assert values[4] == pytest.approx(2 * harmonic - 2 * 255 / 256, rel=1e-3)
