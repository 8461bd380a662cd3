"""Onsets and the score map: what NAB and paging read from the detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import analytics.onsets as onsets_module
from analytics.detector import ALERT_SCORE, to_score
from analytics.onsets import faded_max, onset_scores

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
    unheld = onset_scores(TS, scores, margin=0.0, hold_off=pd.Timedelta(0))
    assert unheld[501:560].all()  # without the margin (and the hold-off)


def test_an_alert_after_a_day_of_mild_oddities_is_an_onset() -> None:
    """The margin is for earlier alerts: a point at 0.7 earlier in the day is not news,
    so the first alert-level point after it must page."""
    scores = np.full(len(TS), 0.1)
    scores[400], scores[500] = 0.7, 0.93
    assert onset_scores(TS, scores)[500] == 0.93
    scores[480] = 0.92  # an alert 100 minutes before: 0.93 is that incident again
    assert onset_scores(TS, scores)[500] == 0.0


def test_a_stronger_departure_inside_the_window_is_a_new_onset() -> None:
    scores = np.zeros(len(TS))
    scores[500], scores[600] = 0.92, 0.99
    onsets = onset_scores(TS, scores)
    assert onsets[500] == 0.92 and onsets[600] == 0.99


def test_an_earlier_departure_fades_with_its_age() -> None:
    """The same departure three hours later is the same incident; twenty hours later it
    is news again. A much stronger one still counts after most of a day."""
    scores = np.zeros(len(TS))
    scores[500] = scores[500 + 36] = scores[500 + 240] = 0.95  # 5-minute rows
    onsets = onset_scores(TS, scores)
    assert onsets[500] == 0.95 and onsets[536] == 0.0 and onsets[740] == 0.95
    scores[500] = 0.999  # a far stronger departure, 20 hours before
    assert onset_scores(TS, scores)[740] == 0.0


def test_a_climb_within_the_hour_after_an_alert_is_one_page() -> None:
    scores = np.zeros(len(TS))
    scores[500:504] = [0.94, 0.97, 0.98, 0.99]
    scores[516] = 0.999  # 65 minutes after the climb's last new high, and far worse
    onsets = onset_scores(TS, scores)
    assert onsets[500] == 0.94 and (onsets[501:504] == 0).all()
    assert onsets[516] == 0.999
    scores[514] = 0.999  # 55 minutes after it: the same incident, still growing
    assert onset_scores(TS, scores)[514] == 0.0
    unheld = onset_scores(TS, scores, hold_off=pd.Timedelta(0))
    assert unheld[501] == 0.97 and unheld[503] == 0.99  # what the hold-off keeps quiet


def test_the_faded_maximum_equals_a_point_by_point_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """On irregular timestamps with gaps, and across the blocks it is computed in."""
    rng = np.random.default_rng(3)
    steps = rng.choice([60, 300, 3600, 7 * 3600], size=400, p=[0.5, 0.3, 0.15, 0.05])
    ts = np.datetime64("2026-11-01T00:00", "ns") + np.cumsum(steps).astype("timedelta64[s]")
    log_odds = rng.normal(0, 4, size=400)
    log_odds[rng.random(400) < 0.1] = -np.inf  # scores of 0
    window = pd.Timedelta(hours=30)
    monkeypatch.setattr(onsets_module, "_CHUNK_CELLS", 1000)
    fast = faded_max(ts, log_odds, window)
    seconds = ts.astype(np.int64) / 1e9
    for i in range(400):
        age = seconds[i] - seconds[:i]
        inside = age < window.total_seconds()
        value = log_odds[:i][inside]
        faded = np.where(value > 0, value * (1 - age[inside] / window.total_seconds()), value)
        assert fast[i] == (faded.max() if faded.size else -np.inf)


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
