from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.signal

from analytics.detector import (
    MIN_JITTER_CENTRE,
    MOVING_SHARE,
    DetectorModel,
    fit_detector,
    residual_z,
    score_series,
    shared_forests,
)

DAY = 1440


def traffic(days: int, seed: int = 0, start: str = "2026-11-02") -> tuple[np.ndarray, np.ndarray]:
    """Requests per second with a daily cycle, quieter weekends (eased in and out over the
    hours around midnight, as real traffic does) and 3 % noise."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=days * DAY, freq="60s").to_numpy().astype("datetime64[ns]")
    minute = np.arange(len(ts))
    hour = (minute / 60) % 24
    weekday = (minute // DAY + pd.Timestamp(start).dayofweek) % 7
    shape = 0.35 + 0.65 * (0.5 + 0.5 * np.sin((hour - 8) / 24 * 2 * np.pi))
    weekend = pd.Series(np.where(weekday >= 5, 0.65, 1.0))
    eased = weekend.rolling(6 * 60, center=True, min_periods=1).mean().to_numpy()
    level = 100 * shape * eased
    return ts, level * (1 + 0.03 * rng.standard_normal(len(ts)))


def machine_temperature(days: int) -> tuple[np.ndarray, np.ndarray]:
    """About 80 degrees, wandering by a degree or two over hours, with a degree of noise."""
    rng = np.random.default_rng(11)
    ts = pd.date_range("2026-11-01", periods=days * DAY, freq="60s").to_numpy()
    wander = np.cumsum(rng.standard_normal(len(ts))) * 0.02
    wander -= pd.Series(wander).rolling(6 * 60, min_periods=1).mean().to_numpy()
    return ts, 80 + wander + rng.standard_normal(len(ts))


@pytest.fixture(scope="module")
def fitted() -> tuple[DetectorModel, np.ndarray, np.ndarray]:
    ts, values = traffic(15)
    return fit_detector(ts[: 14 * DAY], values[: 14 * DAY]), ts, values


def test_finds_daily_and_weekly_cycles(fitted: tuple) -> None:
    model, _, _ = fitted
    assert model.params()["periods_found_minutes"] == [1440, 10080]


def test_quiet_on_normal_days_including_the_weekend(fitted: tuple) -> None:
    model, ts, values = fitted
    scored = score_series(model, ts, values, score_from=ts[14 * DAY])
    assert len(scored) == DAY
    assert (scored["score"] >= 0.9).mean() < 0.005
    inside = (values[14 * DAY :] >= scored["lower"]) & (values[14 * DAY :] <= scored["upper"])
    assert inside.mean() > 0.97


def test_a_spike_scores_high_while_it_lasts(fitted: tuple) -> None:
    model, ts, values = fitted
    spiked = values.copy()
    spike = slice(14 * DAY + 800, 14 * DAY + 815)
    spiked[spike] *= 3
    scored = score_series(model, ts, spiked, score_from=ts[14 * DAY])
    assert (scored["score"].to_numpy()[800:815] >= 0.9).all()
    assert (scored["score"].to_numpy()[:790] >= 0.9).sum() <= 3


def test_an_incident_in_the_training_window_does_not_echo_the_next_days() -> None:
    ts, values = traffic(15, seed=5)
    trained = values.copy()
    incident = slice(9 * DAY + 600, 9 * DAY + 660)  # an hour at 10:00 on day 10
    trained[incident] *= 2.5
    model = fit_detector(ts[: 14 * DAY], trained[: 14 * DAY])
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert (scores[560:720] >= 0.9).sum() <= 2


def test_no_lookahead_the_future_does_not_change_the_past(fitted: tuple) -> None:
    model, ts, values = fitted
    changed = values.copy()
    changed[14 * DAY + 700 :] *= 5
    since = ts[14 * DAY]
    before = score_series(model, ts, values, score_from=since).iloc[:700]
    after = score_series(model, ts, changed, score_from=since).iloc[:700]
    pd.testing.assert_frame_equal(before, after)


def test_scoring_a_window_equals_scoring_everything(fitted: tuple) -> None:
    model, ts, values = fitted
    whole = score_series(model, ts, values).iloc[-300:].reset_index(drop=True)
    window = score_series(model, ts, values, score_from=ts[-300])
    pd.testing.assert_frame_equal(whole, window)


def test_a_sustained_step_is_rebaselined(fitted: tuple) -> None:
    model, ts, values = fitted
    stepped = values.copy()
    stepped[14 * DAY + 300 :] += 40
    scores = score_series(model, ts, stepped, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[300:330].min() >= 0.9  # the step is seen at once
    assert (scores[600:] >= 0.9).mean() < 0.05  # and accepted as the new normal hours later


def test_a_jump_out_of_a_jumpy_series_range_is_news() -> None:
    """CPU that sits near 10 % and hops to 60 % a fifth of the time has a residual so
    wide that 95 % looks ordinary to it; but it has never been there in two weeks. Once
    the new level has lasted two level windows it is part of the range and the level
    has stopped moving: no longer news."""
    rng = np.random.default_rng(3)
    ts = pd.date_range("2026-11-01", periods=15 * DAY, freq="60s").to_numpy()
    values = 10 + 50 * (rng.random(len(ts)) < 0.2) + rng.standard_normal(len(ts))
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    jumped = values.copy()
    jumped[14 * DAY + 600 :] = 95 + rng.standard_normal(DAY - 600)
    scores = score_series(model, ts, jumped, score_from=ts[14 * DAY])["score"].to_numpy()
    without = score_series(
        replace(model, range_unit=float("nan")), ts, jumped, score_from=ts[14 * DAY]
    )["score"].to_numpy()
    assert (scores[:600] >= 0.9).mean() < 0.01
    assert scores[600] >= 0.9 > without[600]
    assert (scores[600 + 5 * 60 :] >= 0.9).mean() < 0.05
    assert model.params()["value_range"][1] == pytest.approx(values[: 14 * DAY].max())


def test_a_daily_step_at_the_same_minute_is_expected_on_both_sides() -> None:
    """A batch fleet scaled up at 09:00 and down at 18:00 every day: the profile must keep
    the edges sharp. A smeared edge leaves a residual of half the step at each edge every
    day, which either pages there or, as those residuals widen the scale, hides a real
    departure of a fifth of the step."""
    rng = np.random.default_rng(3)
    ts = pd.date_range("2026-11-02", periods=4 * 288, freq="5min").to_numpy()
    hour = (ts.astype("datetime64[m]").astype(np.int64) % DAY) / 60
    values = np.where((hour >= 9) & (hour < 18), 80.0, 20.0) + 0.1 * rng.standard_normal(len(ts))
    model = fit_detector(ts[: 3 * 288], values[: 3 * 288], step_seconds=300)
    scores = score_series(model, ts, values, score_from=ts[3 * 288])["score"].to_numpy()
    assert scores.max() < 0.5
    shifted = values.copy()
    shifted[3 * 288 + 12 * 12 : 3 * 288 + 12 * 12 + 6] += 15  # a real departure at noon
    scores = score_series(model, ts, shifted, score_from=ts[3 * 288])["score"].to_numpy()
    assert scores[12 * 12 : 12 * 12 + 6].min() >= 0.9


def test_a_spike_seen_every_night_is_not_news_but_a_bigger_one_is() -> None:
    """A nightly job lifts CPU from 5 % to 60 % for a few minutes at a slightly different
    time each night. Point by point that is as unusual as any incident (its residual is
    hundreds of MADs), but the history shows it every day; an incident does not."""
    rng = np.random.default_rng(7)
    ts = pd.date_range("2026-11-01", periods=15 * DAY, freq="60s").to_numpy()
    values = 5 + 0.2 * rng.standard_normal(len(ts))
    nights = [day * DAY + 120 + int(rng.integers(0, 90)) for day in range(15)]
    for start in nights:
        values[start : start + 5] = 60 + rng.standard_normal(5)
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    tonight = slice(nights[14] - 14 * DAY, nights[14] - 14 * DAY + 5)
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[tonight].max() < 0.9  # below the alert score
    bigger = values.copy()
    bigger[nights[14] : nights[14] + 5] = 90
    scores = score_series(model, ts, bigger, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[tonight].min() >= 0.9
    young = fit_detector(ts[: 2 * DAY], values[: 2 * DAY])  # two nights: not yet a habit
    scores = score_series(young, ts[: 3 * DAY], values[: 3 * DAY], score_from=ts[2 * DAY])
    third = slice(nights[2] - 2 * DAY, nights[2] - 2 * DAY + 5)
    assert scores["score"].to_numpy()[third].max() >= 0.9


def test_the_return_to_normal_after_a_shift_is_not_paged(fitted: tuple) -> None:
    """Two hours at a higher level, then back to what the series usually does: the
    shift is paged, the recovery is not (the level of the last hours still says
    "higher" for a while after it ends)."""
    model, ts, values = fitted
    shifted = values.copy()
    shifted[14 * DAY + 300 : 14 * DAY + 420] += 40
    scores = score_series(model, ts, shifted, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[300:310].min() >= 0.9
    assert (scores[420:600] >= 0.9).mean() < 0.05


def test_a_slow_slide_is_flagged_while_it_slides_and_accepted_once_it_stops() -> None:
    """A machine temperature that wanders by a degree or two loses 15 degrees over ten
    hours: no single point is sudden (the level follows it), but the level moves faster
    than it ever did in two weeks. Settled at the new temperature, it is accepted."""
    ts, values = machine_temperature(15)
    slide = np.zeros(DAY)
    slide[300:900] = np.linspace(0, -15, 600)
    slide[900:] = -15
    values[14 * DAY :] += slide
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert (scores[:300] >= 0.9).mean() < 0.01
    assert scores[300:900].max() >= 0.9
    assert (scores[900 + 6 * 60 :] >= 0.9).mean() < 0.01
    stale = replace(model, drift_centre=float("nan"))
    without = score_series(stale, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert int(np.argmax(scores >= 0.9)) < int(np.argmax(without >= 0.9))


def wandering_level(seed: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """About 80, its level a slowly reverting random walk with heavy-tailed steps (now and
    then it wanders a long way in a few hours, as a machine's temperature does), with a
    degree of noise."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-11-01", periods=days * DAY, freq="60s").to_numpy()
    level = scipy.signal.lfilter([1.0], [1.0, -0.998], rng.standard_t(2.5, len(ts)) * 0.2)
    return ts, 80 + level + rng.standard_normal(len(ts))


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_a_level_wandering_as_it_did_all_fortnight_is_not_paged_as_drift(seed: int) -> None:
    """A week more of the same process: no page is the drift's alone. Its three-hour level
    has far fewer independent values in two weeks than the series has points, and the
    same process's next week can wander further than any of them: seed 5's week holds a
    three-hour move a third larger than its fortnight's largest, and twice the 95th
    percentile (the other evidence's centre) paged on 1.6 % of that week."""
    ts, values = wandering_level(seed, 21)
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    stale = replace(model, drift_centre=float("nan"))
    without = score_series(stale, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert not np.any((scores >= 0.9) & (without < 0.9))


def _oscillating(values: np.ndarray, start: int, minutes: int, swing: float) -> np.ndarray:
    """``values`` with ``swing`` added and taken away on alternate minutes from ``start``."""
    out = values.copy()
    out[start : start + minutes] += swing * (-1.0) ** np.arange(minutes)
    return out


def test_an_oscillation_inside_the_usual_range_is_flagged_by_its_jitter() -> None:
    """A controller starts hunting: the temperature swings two and a half degrees either
    way every minute. No point is far from the level and no value is new, yet it never
    swung like this for half an hour in two weeks."""
    ts, values = machine_temperature(15)
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    hunting = _oscillating(values, 14 * DAY + 600, 120, 2.5)
    scores = score_series(model, ts, hunting, score_from=ts[14 * DAY])["score"].to_numpy()
    assert (scores[:600] >= 0.9).mean() < 0.01
    assert scores[600:660].max() >= 0.9
    blind = replace(model, jitter_centre=float("nan"))
    without = score_series(blind, ts, hunting, score_from=ts[14 * DAY])["score"].to_numpy()
    assert without[600:720].max() < 0.9  # it is the jitter that sees it


def test_jitter_the_history_shows_every_day_is_habit() -> None:
    """A batch job makes the same temperature swing for an hour every night: the next
    night's swing is not news, though it would be to a model that never saw it."""
    ts, values = machine_temperature(15)
    for day in range(15):
        values = _oscillating(values, day * DAY + 120, 60, 6.0)
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[120:240].max() < 0.9
    naive = replace(model, jitter_centre=MIN_JITTER_CENTRE)
    naive_scores = score_series(naive, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert naive_scores[120:240].max() >= 0.9


def test_a_value_easing_back_to_normal_is_not_jitter() -> None:
    """After a shift the value eases back with a time constant of about two hours (a
    queue draining, a disk being cleaned): the expectation lags it by about as much as it
    is still off its usual level, so the residual, measured from the nearer of the two,
    flips sign with every wobble. The value itself moves no more than noise does."""
    rng = np.random.default_rng(2)
    ts = pd.date_range("2026-11-01", periods=15 * DAY, freq="60s").to_numpy()
    ts = ts.astype("datetime64[ns]")
    values = 50 + rng.standard_normal(len(ts))
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    start = 14 * DAY + 120
    values[start : start + 240] += 12
    values[start + 240 :] += 12 * np.exp(-np.arange(len(ts) - start - 240) / 130)
    scores = score_series(model, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    blind = replace(model, jitter_centre=float("nan"))
    without = score_series(blind, ts, values, score_from=ts[14 * DAY])["score"].to_numpy()
    assert not ((scores >= 0.9) & (without < 0.9)).any()
    seasonal = model.baseline.seasonal(ts)
    expected = model.baseline.expected(ts, values, seasonal)
    z = residual_z(values, expected, seasonal + model.baseline.level, model.baseline.scale(ts))
    flips = pd.Series(np.abs(np.diff(z[start + 240 :]))).rolling(30).median()
    assert flips.max() > model.jitter_centre + 2  # the residual's own steps would page


def test_a_stuck_source_is_flagged_once_most_of_half_an_hour_repeats() -> None:
    """An exporter keeps serving its last reading for two hours. Every value is one the
    temperature often has and the level barely moves, yet in two weeks it never repeated
    itself: from a quarter of an hour in, the repeats say it."""
    ts, values = machine_temperature(15)
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    assert model.repeat_share <= MOVING_SHARE
    stuck = values.copy()
    stuck[14 * DAY + 600 : 14 * DAY + 720] = stuck[14 * DAY + 600]
    scores = score_series(model, ts, stuck, score_from=ts[14 * DAY])["score"].to_numpy()
    assert (scores[:600] >= 0.9).mean() < 0.01
    assert scores[600:612].max() < 0.9  # a few repeats are not yet a stuck source
    assert scores[620:720].min() >= 0.9  # and it stays flagged while it is stuck
    assert (scores[760:] >= 0.9).mean() < 0.01
    blind = replace(model, repeat_share=float("nan"))
    without = score_series(blind, ts, stuck, score_from=ts[14 * DAY])["score"].to_numpy()
    assert without[620:720].max() < 0.9  # it is the stillness that sees it


def test_a_source_stuck_once_in_training_is_still_caught_the_next_time() -> None:
    """The exporter stuck for three hours ten days ago: an incident, not the series'
    habit, so when it sticks again it is flagged again, and the history's own stuck hours
    count in how often the model would have alerted on it."""
    ts, values = machine_temperature(15)
    values[10 * DAY + 300 : 10 * DAY + 480] = values[10 * DAY + 300]
    model = fit_detector(ts[: 14 * DAY], values[: 14 * DAY])
    assert model.repeat_share <= MOVING_SHARE
    assert model.training_alert_share > 0
    stuck = values.copy()
    stuck[14 * DAY + 600 : 14 * DAY + 720] = stuck[14 * DAY + 600]
    scores = score_series(model, ts, stuck, score_from=ts[14 * DAY])["score"].to_numpy()
    assert scores[620:720].min() >= 0.9


def test_a_series_that_often_repeats_itself_gets_no_stillness_evidence() -> None:
    """A gauge in whole degrees repeats its value most minutes: a stretch of the same
    reading is its normal, and only the other evidence may page on it."""
    ts, values = machine_temperature(15)
    whole = np.round(values)
    model = fit_detector(ts[: 14 * DAY], whole[: 14 * DAY])
    assert model.repeat_share > MOVING_SHARE
    whole[14 * DAY + 600 : 14 * DAY + 720] = whole[14 * DAY + 600]
    scores = score_series(model, ts, whole, score_from=ts[14 * DAY])["score"].to_numpy()
    blind = replace(model, repeat_share=float("nan"))
    without = score_series(blind, ts, whole, score_from=ts[14 * DAY])["score"].to_numpy()
    np.testing.assert_array_equal(scores, without)


def test_constant_series_fits_and_flags_a_real_change() -> None:
    ts = (
        pd.date_range("2026-11-01", periods=3 * DAY, freq="60s").to_numpy().astype("datetime64[ns]")
    )
    values = np.full(len(ts), 0.42)
    model = fit_detector(ts[: 2 * DAY], values[: 2 * DAY])
    values[-100:] = 0.9
    scores = score_series(model, ts, values, score_from=ts[2 * DAY])["score"].to_numpy()
    assert np.isfinite(scores).all()
    assert scores[: DAY - 100].max() < 0.5
    assert scores[-100:-90].min() >= 0.9


def test_a_sparse_series_keeps_a_scale_its_bursts_can_be_measured_in() -> None:
    """Mostly zeros with bursts 2 % of the time (write bytes, say): its MAD is 0, yet a usual
    burst must stay a moderate z and a burst ten times larger must stand out from it."""
    rng = np.random.default_rng(5)
    ts = pd.date_range("2026-11-01", periods=4 * DAY, freq="60s").to_numpy()
    values = np.where(rng.random(len(ts)) < 0.02, rng.uniform(80, 120, len(ts)), 0.0)
    model = fit_detector(ts[: 3 * DAY], values[: 3 * DAY])
    assert model.baseline.scale(ts).min() >= 0.1 * 80
    values[3 * DAY + 600] = 100.0
    values[3 * DAY + 900] = 1000.0
    scored = score_series(model, ts, values, score_from=ts[3 * DAY])
    z = (values[3 * DAY :] - scored["expected"]) / ((scored["upper"] - scored["lower"]) / 6)
    assert z.iloc[600] < 15
    assert z.iloc[900] > 5 * z.iloc[600]
    assert scored["score"].iloc[900] >= 0.9


def test_short_gappy_irregular_history_falls_back_to_no_cycle() -> None:
    rng = np.random.default_rng(3)
    offsets = np.sort(rng.choice(12 * 3600, 400, replace=False)).astype("timedelta64[s]")
    ts = (np.datetime64("2026-11-01T00:00") + offsets).astype("datetime64[ns]")
    values = 10 + rng.standard_normal(len(ts))
    values[::17] = np.nan
    model = fit_detector(ts, values)
    assert model.params()["period_minutes"] == 0
    scored = score_series(model, ts, values)
    assert len(scored) == np.isfinite(values).sum()
    assert np.isnan(scored["score"].iloc[0])  # no earlier point, no expectation
    assert (scored["lower"] < scored["upper"]).iloc[1:].all()


def test_artifact_round_trip_and_refuses_foreign_bytes(fitted: tuple) -> None:
    model, ts, values = fitted
    again = DetectorModel.from_bytes(model.to_bytes())
    window = ts[-200:], values[-200:]
    pd.testing.assert_frame_equal(score_series(model, *window), score_series(again, *window))
    with pytest.raises(ValueError, match="not a Vigil detector"):
        DetectorModel.from_bytes(b"something else")
    newer = model.to_bytes()[:8] + (99).to_bytes(2, "big") + model.to_bytes()[10:]
    with pytest.raises(ValueError, match="format 99"):
        DetectorModel.from_bytes(newer)
    first_format = model.to_bytes()[:8] + (1).to_bytes(2, "big") + model.to_bytes()[10:]
    assert DetectorModel.from_bytes(first_format).params() == model.params()


def test_a_model_written_before_the_value_range_scores_as_it_did() -> None:
    """Format 2 artifacts hold no value range, drift or jitter centre or repeat share:
    they load, and score without novelty, drift, jitter or stillness."""
    rng = np.random.default_rng(5)
    ts = pd.date_range("2026-11-01", periods=3 * DAY, freq="60s").to_numpy()
    values = 50 + rng.standard_normal(len(ts))
    model = fit_detector(ts[: 2 * DAY], values[: 2 * DAY])
    old = replace(model)
    for name in (
        "range_low",
        "range_high",
        "range_unit",
        "drift_centre",
        "jitter_centre",
        "repeat_share",
    ):
        object.__delattr__(old, name)  # an instance as format 2 pickled it
    loaded = DetectorModel.from_bytes(b"VIGILDET" + (2).to_bytes(2, "big") + pickle.dumps(old))
    assert np.isnan(loaded.range_unit) and np.isnan(loaded.drift_centre)
    assert np.isnan(loaded.jitter_centre) and np.isnan(loaded.repeat_share)
    jumped = values.copy()
    jumped[2 * DAY + 100 :] += 8
    new_scores = score_series(model, ts, jumped, score_from=ts[2 * DAY])["score"].to_numpy()
    old_scores = score_series(loaded, ts, jumped, score_from=ts[2 * DAY])["score"].to_numpy()
    assert np.isfinite(old_scores).all()
    assert (old_scores <= new_scores + 1e-12).all()  # both only ever add evidence
    assert new_scores[100] > old_scores[100]


def test_a_forest_shared_by_many_models_is_packed_once(fitted: tuple) -> None:
    model, ts, values = fitted
    shared = shared_forests()
    twin = replace(model, z_centre=model.z_centre + 1)  # another series, the same forest
    blobs = [m.to_bytes(shared) for m in (model, twin)]
    assert len(shared.blobs) == 1
    part = next(iter(shared.blobs.values()))
    assert all(len(b) < len(part) / 4 for b in blobs)  # the forest is the bulk, kept once
    forest = pickle.loads(part)
    loaded = [DetectorModel.from_bytes(b, lambda key: forest) for b in blobs]
    assert loaded[0].forest.forest is loaded[1].forest.forest
    window = ts[-200:], values[-200:]
    pd.testing.assert_frame_equal(score_series(model, *window), score_series(loaded[0], *window))
    with pytest.raises(ValueError, match=r"refers to shared part [0-9a-f]{32}; none was given"):
        DetectorModel.from_bytes(blobs[0])


def test_quality_reports_how_often_history_would_have_alerted(fitted: tuple) -> None:
    quality = fitted[0].quality()
    assert quality["training_points"] == 14 * DAY
    assert 0 <= quality["training_alert_share"] < 0.01


def test_the_alert_share_counts_the_drift_evidence_too() -> None:
    """A history with a slide in it: scored by its own model, it alerts for a couple of
    percent of its minutes, nearly all through drift; the quality figure must say so."""
    ts, values = machine_temperature(14)
    values[10 * DAY + 300 : 10 * DAY + 900] += np.linspace(0, -15, 600)
    values[10 * DAY + 900 :] -= 15
    model = fit_detector(ts, values)
    scored = np.nan_to_num(score_series(model, ts, values)["score"].to_numpy())
    honest = float((scored >= 0.9).mean())
    assert honest > 0.01
    assert abs(model.training_alert_share - honest) < 0.005  # estimated on 4,096 rows


def test_too_little_data_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least two"):
        fit_detector(np.array(["2026-11-01"], dtype="datetime64[ns]"), np.array([1.0]))


def test_a_long_gap_gives_no_score_until_there_is_context_again(fitted: tuple) -> None:
    """Six hours without data (an agent down): the first point back has no expectation and
    no score, and the normal points after it raise nothing."""
    model, ts, values = fitted
    day = slice(14 * DAY, 15 * DAY)
    ts_day, values_day = ts[day], values[day].copy()
    values_day[300:660] = np.nan
    scored = score_series(model, ts[: 15 * DAY], np.concatenate([values[: 14 * DAY], values_day]),
                          score_from=ts_day[0])  # fmt: skip
    back = int(np.searchsorted(scored["ts"].to_numpy(), ts_day[660]))
    assert len(scored) == DAY - 360  # gaps are not scored
    assert np.isnan(scored["score"].iloc[back]) and np.isnan(scored["expected"].iloc[back])
    assert np.nanmax(scored["score"].iloc[back:].to_numpy()) < 0.9


def test_a_cycle_shorter_than_a_day_is_found_and_learned() -> None:
    """A batch job every five hours (out of step with the day, so no daily profile holds
    it): the cycle comes from the autocorrelation, its runs are normal, and a run that
    does not happen is an anomaly. (A four-hour job repeats daily and is a daily cycle.)"""
    rng = np.random.default_rng(8)
    ts = pd.date_range("2026-11-02", periods=4 * DAY, freq="60s").to_numpy()
    minute = np.arange(len(ts))
    running = (minute % 300) < 45  # 45 minutes of work every 5 hours
    values = 20 + 60 * running + rng.normal(0, 2, len(ts))
    model = fit_detector(ts[: 3 * DAY], values[: 3 * DAY])
    assert model.params()["period_minutes"] == 300
    normal = score_series(model, ts, values, score_from=ts[3 * DAY])["score"].to_numpy()
    assert np.nanmean(normal >= 0.9) < 0.01
    skipped = values.copy()
    first_run = 300 - (3 * DAY) % 300  # minutes into the day of its first run
    run = slice(3 * DAY + first_run, 3 * DAY + first_run + 45)
    skipped[run] = 20 + rng.normal(0, 2, 45)
    missed = score_series(model, ts, skipped, score_from=ts[3 * DAY])["score"].to_numpy()
    assert np.nanmax(missed[first_run + 5 : first_run + 45]) >= 0.9


def test_noise_and_random_walks_get_no_cycle() -> None:
    rng = np.random.default_rng(9)
    ts = pd.date_range("2026-11-02", periods=3 * DAY, freq="60s").to_numpy()
    for values in (rng.normal(50, 5, len(ts)), 50 + np.cumsum(rng.normal(0, 1, len(ts)))):
        assert fit_detector(ts, values).params()["period_minutes"] == 0


def test_the_fast_stl_profile_matches_the_full_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loess jumps that make refits affordable change the learned profile by a small
    share of the noise, never by anything a band would notice."""
    import analytics.baseline as baseline

    ts, values = traffic(14, seed=2)
    fast = baseline.fit_baseline(ts, values)
    monkeypatch.setattr(baseline, "STL_JUMPS", {})
    full = baseline.fit_baseline(ts, values)
    assert fast.period_slots == full.period_slots == baseline.WEEK_SLOTS
    sigma = float(np.median(full.hourly_scale))
    gap = np.abs(fast.profile - full.profile)
    # the running median that keeps steps sharp passes a lone slot's difference through
    # where a running mean would have split it over three; 99 % of slots stay within 0.1
    assert gap.max() < 0.15 * sigma and np.quantile(gap, 0.99) < 0.1 * sigma
    np.testing.assert_allclose(fast.hourly_scale, full.hourly_scale, rtol=0.05)


@pytest.mark.parametrize("unit", [1e-4, 1e6])
def test_the_same_series_in_other_units_scores_the_same(unit: float) -> None:
    """Bytes or gigabytes, seconds or milliseconds: every centre, scale and range is
    learnt from the series itself, so a change of unit changes no score."""
    ts, values = traffic(15)
    values = values.copy()
    values[14 * DAY + 300 : 14 * DAY + 360] += 5 * np.std(values)

    def scores(series: np.ndarray) -> np.ndarray:
        model = fit_detector(ts[: 14 * DAY], series[: 14 * DAY])
        frame = score_series(model, ts, series, score_from=ts[14 * DAY])
        return frame["score"].to_numpy()

    plain = scores(values)
    assert (plain[300:360] >= 0.9).any()
    np.testing.assert_allclose(scores(unit * values), plain, rtol=0, atol=1e-9)
