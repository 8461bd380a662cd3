"""Onsets and the score map: what NAB and paging read from the detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from analytics.detector import ALERT_SCORE, to_score
from analytics.onsets import onset_scores

TS = pd.date_range("2026-11-01", periods=6 * 288, freq="5min").to_numpy()


def test_a_long_incident_has_one_onset_at_its_start() -> None:
    scores = np.full(len(TS), 0.1)
    scores[500:560] = np.linspace(0.95, 0.97, 60)[::-1]  # strongest at the start
    onsets = onset_scores(TS, scores)
    assert onsets[500] == scores[500]
    assert (onsets[501:560] == 0).all()


def test_an_incident_that_creeps_upwards_begins_once() -> None:
    """Every point of a slowly worsening incident is a new maximum; only its first is
    news, until it is clearly worse (odds e² times those of any point before)."""
    scores = np.full(len(TS), 0.1)
    scores[500:560] = np.linspace(0.95, 0.97, 60)
    scores[560] = 0.995
    onsets = onset_scores(TS, scores)
    assert onsets[500] == scores[500]
    assert (onsets[501:560] == 0).all()
    assert onsets[560] == 0.995
    assert onset_scores(TS, scores, margin=0.0)[501:560].all()  # without the margin


def test_an_alert_after_a_day_of_mild_oddities_is_an_onset() -> None:
    """The margin is for earlier alerts: a point at 0.7 earlier in the day is not news,
    so the first alert-level point after it must page."""
    scores = np.full(len(TS), 0.1)
    scores[400], scores[500] = 0.7, 0.93
    assert onset_scores(TS, scores)[500] == 0.93
    scores[400] = 0.92  # an alert earlier the same day: 0.93 is that incident again
    assert onset_scores(TS, scores)[500] == 0.0


def test_a_stronger_departure_inside_the_window_is_a_new_onset() -> None:
    scores = np.zeros(len(TS))
    scores[500], scores[600] = 0.92, 0.99
    onsets = onset_scores(TS, scores)
    assert onsets[500] == 0.92 and onsets[600] == 0.99


def test_the_same_departure_a_day_later_is_new_again() -> None:
    scores = np.zeros(len(TS))
    scores[500] = scores[500 + 290] = 0.95
    scores[500 + 200] = 0.95
    onsets = onset_scores(TS, scores)
    assert onsets[500] == 0.95 and onsets[700] == 0.0 and onsets[790] == 0.0
    scores[700] = 0.0
    assert onset_scores(TS, scores)[790] == 0.95


def test_onsets_use_no_future_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(len(TS))
    full = onset_scores(TS, scores)
    cut = 1000
    np.testing.assert_array_equal(onset_scores(TS[:cut], scores[:cut]), full[:cut])


def test_nan_scores_count_as_nothing() -> None:
    scores = np.full(10, np.nan)
    scores[5] = 0.5
    assert onset_scores(TS[:10], scores).tolist() == [0.0] * 5 + [0.5] + [0.0] * 4


def test_the_score_map_is_the_logistic_up_to_the_alert_score_then_keeps_order() -> None:
    low = np.linspace(-10, np.log(ALERT_SCORE / (1 - ALERT_SCORE)), 50)
    np.testing.assert_allclose(to_score(low), expit(low))
    high = np.array([3.0, 20.0, 40.0, 400.0, 4e6])
    mapped = to_score(high)
    assert (np.diff(mapped) > 0).all() and mapped[-1] < 1.0
    assert expit(high[2]) == expit(high[3]) == 1.0  # what the logistic alone would give
    grid = np.linspace(-20, 1e4, 100_001)
    assert (np.diff(to_score(grid)) >= 0).all()
    assert ((to_score(grid) >= 0) & (to_score(grid) <= 1)).all()
