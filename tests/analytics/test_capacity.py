"""Capacity forecasts: a straight line over the recent window, and when it reaches the limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.capacity import HORIZON, capacity_forecast, linear_trends, trend_line

END = pd.Timestamp("2025-03-03 12:00:00")
MINUTES = 360  # six hours of one-minute samples


def _series(series_id: int, values: np.ndarray) -> pd.DataFrame:
    ts = pd.date_range(end=END, periods=len(values), freq="1min")
    return pd.DataFrame({"series_id": series_id, "ts": ts, "value": values})


def _ramp(start: float, per_hour: float, n: int = MINUTES) -> np.ndarray:
    """Values that reach ``start + per_hour * hours`` at END, one per minute."""
    hours_before_end = (np.arange(n) - (n - 1)) / 60
    return start + per_hour * hours_before_end


def _one(frame: pd.DataFrame, series_id: int) -> pd.Series:
    return frame.set_index("series_id").loc[series_id]


def test_a_steady_rise_reaches_the_limit_when_the_line_says() -> None:
    forecast = capacity_forecast(_series(1, _ramp(0.8, 0.05)), END)
    row = _one(forecast, 1)
    assert row.slope * 3600 == pytest.approx(0.05)
    assert row.level == pytest.approx(0.8)
    assert row.eta_seconds == pytest.approx(4 * 3600)  # 0.2 left at 0.05 an hour
    assert row.at_risk


def test_a_flat_series_never_fills_up() -> None:
    row = _one(capacity_forecast(_series(1, np.full(MINUTES, 0.7)), END), 1)
    assert row.slope == pytest.approx(0.0)
    assert np.isinf(row.eta_seconds) and not row.at_risk


def test_a_falling_series_never_fills_up() -> None:
    row = _one(capacity_forecast(_series(1, _ramp(0.9, -0.02)), END), 1)
    assert row.slope < 0 and np.isinf(row.eta_seconds) and not row.at_risk


def test_a_series_already_at_its_limit_is_full_now_even_if_its_trend_is_flat() -> None:
    values = np.concatenate([_ramp(1.0, 0.1, MINUTES - 30)[:-1] - 0.05, np.ones(31)])
    row = _one(capacity_forecast(_series(1, values), END), 1)
    assert row["last"] == 1.0
    assert row.eta_seconds == 0.0 and row.at_risk


def test_gaps_and_nans_thin_the_fit_without_bending_it() -> None:
    values = _ramp(0.5, 0.1)
    values[100:160] = np.nan  # a scrape outage
    values[-3:] = np.nan  # the newest samples are missing too
    frame = _series(1, values).drop(index=range(200, 260))  # and a hole with no rows at all
    row = _one(capacity_forecast(frame, END), 1)
    assert row.points == MINUTES - 60 - 3 - 60
    assert row.slope * 3600 == pytest.approx(0.1)
    assert row.eta_seconds == pytest.approx(5 * 3600)
    assert row["last"] == pytest.approx(values[-4])


def test_too_few_points_give_no_forecast_rather_than_a_guess() -> None:
    row = _one(capacity_forecast(_series(1, _ramp(0.9, 0.5, n=5)), END), 1)
    assert np.isnan(row.eta_seconds) and not row.at_risk


def test_beyond_the_horizon_is_not_a_risk() -> None:
    hours = HORIZON.total_seconds() / 3600
    row = _one(capacity_forecast(_series(1, _ramp(0.5, 0.5 / (hours + 1))), END), 1)
    assert np.isfinite(row.eta_seconds) and not row.at_risk


def test_many_series_are_fitted_at_once_and_sorted_soonest_first() -> None:
    frame = pd.concat(
        [
            _series(7, np.full(MINUTES, 0.95)),  # flat: never, but fuller than 9
            _series(3, _ramp(0.8, 0.1)),  # 2 h
            _series(5, np.ones(MINUTES)),  # full now
            _series(9, _ramp(0.6, -0.1)),  # falling
            _series(4, _ramp(0.8, 0.02)),  # 10 h
        ]
    ).sample(frac=1.0, random_state=1)  # row order must not matter
    forecast = capacity_forecast(frame, END)
    assert forecast["series_id"].tolist() == [5, 3, 4, 7, 9]
    assert forecast["at_risk"].tolist() == [True, True, True, False, False]


def test_an_empty_window_gives_an_empty_forecast() -> None:
    empty = pd.DataFrame({"series_id": [], "ts": pd.to_datetime([]), "value": []})
    assert capacity_forecast(empty, END).empty


def test_a_single_x_value_has_no_slope() -> None:
    points, level, slope = linear_trends(
        np.array([0, 0, 1, 1]), np.array([5.0, 5.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0, 5.0]), 2
    )
    assert points.tolist() == [2, 2]
    assert np.isnan(slope[0]) and np.isnan(level[0])
    assert slope[1] == pytest.approx(2.0) and level[1] == pytest.approx(3.0)


@given(
    slope=st.floats(-1e-3, 1e-3, allow_nan=False),
    level=st.floats(-1e3, 1e3, allow_nan=False),
    offset=st.floats(0, 2e9),
)
def test_an_exact_line_is_recovered_even_far_from_the_origin(
    slope: float, level: float, offset: float
) -> None:
    """Epoch-sized x values must not cost precision: the sums are centred."""
    x = offset + np.arange(0, 21_600, 60, dtype=float)
    _, fitted_level, fitted_slope = linear_trends(np.zeros(len(x), int), x, level + slope * x, 1)
    assert fitted_slope[0] == pytest.approx(slope, rel=1e-6, abs=1e-12)
    assert fitted_level[0] == pytest.approx(level, rel=1e-6, abs=1e-3)


def test_the_trend_line_runs_from_the_window_start_to_the_projection() -> None:
    line = trend_line(
        0.8, 0.1 / 3600, END, END - pd.Timedelta(hours=6), END + pd.Timedelta(hours=2)
    )
    assert line["value"].tolist() == pytest.approx([0.2, 1.0])
    assert line["ts"].tolist() == [END - pd.Timedelta(hours=6), END + pd.Timedelta(hours=2)]
