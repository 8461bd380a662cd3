from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.rolling import rolling_median


def _pandas(ts: np.ndarray, values: np.ndarray, window: pd.Timedelta, periods: int, closed: str):
    series = pd.Series(values, index=pd.DatetimeIndex(ts))
    return series.rolling(window, min_periods=periods, closed=closed).median().to_numpy()


def _grid(n: int, step: int) -> np.ndarray:
    return pd.date_range("2026-11-01", periods=n, freq=f"{step}s").to_numpy("datetime64[ns]")


@pytest.mark.parametrize("step", [60, 300])
@pytest.mark.parametrize("minutes", [10, 30, 180, 7])  # even, even, even, not a whole step
@pytest.mark.parametrize("closed", ["right", "left"])
@pytest.mark.parametrize("periods", [1, 3, 6, 40])  # 40: more than a 30-minute window holds
@pytest.mark.parametrize("first_nan", [False, True])
def test_a_regular_grid_gives_exactly_what_pandas_gives(
    step: int, minutes: int, closed: str, periods: int, first_nan: bool
) -> None:
    rng = np.random.default_rng(minutes * step + periods)
    ts = _grid(3000, step)
    values = rng.standard_normal(len(ts)) * rng.choice([1.0, 10.0], len(ts))
    if first_nan:
        values[0] = np.nan  # as the first residual or the first move is
    window = pd.Timedelta(minutes=minutes)
    got = rolling_median(ts, values, window, periods, closed)
    np.testing.assert_array_equal(got, _pandas(ts, values, window, periods, closed))


def test_odd_windows_ties_and_short_series_match_too() -> None:
    ts = _grid(500, 60)
    ties = np.round(np.random.default_rng(3).standard_normal(500))  # many equal values
    for minutes, n in ((5, 500), (9, 500), (30, 20), (30, 31), (30, 2)):
        window = pd.Timedelta(minutes=minutes)
        got = rolling_median(ts[:n], ties[:n], window, 1)
        np.testing.assert_array_equal(got, _pandas(ts[:n], ties[:n], window, 1, "right"))


def test_gaps_uneven_steps_and_nan_inside_fall_back_to_the_same_figures() -> None:
    rng = np.random.default_rng(4)
    ts = _grid(2000, 60)
    values = rng.standard_normal(2000)
    gappy = np.delete(np.arange(2000), np.arange(700, 760))
    uneven = ts + rng.integers(0, 20, 2000).astype("timedelta64[s]")
    holed = values.copy()
    holed[[50, 900]] = np.nan
    window = pd.Timedelta(minutes=30)
    for t, v in ((ts[gappy], values[gappy]), (uneven, values), (ts, holed)):
        np.testing.assert_array_equal(
            rolling_median(t, v, window, 6), _pandas(t, v, window, 6, "right")
        )
