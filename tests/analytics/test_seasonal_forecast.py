"""The seasonal forecast carries the fitted cycle forward from today's level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.baseline import fit_baseline
from analytics.forecast import seasonal_forecast

DAY = 86_400


def _daily(days: int, level: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    ts = pd.date_range("2026-11-02", periods=days * 1440, freq="1min").to_numpy()
    seconds = (ts - ts[0]) / np.timedelta64(1, "s")
    rng = np.random.default_rng(seed)
    values = level + 20 * np.sin(2 * np.pi * seconds / DAY) + rng.normal(0, 1, len(ts))
    return ts, values


def test_the_forecast_follows_the_cycle_from_the_current_level() -> None:
    ts, values = _daily(7, 100.0)
    baseline = fit_baseline(ts, values)
    recent_ts, recent = ts[-180:], values[-180:] + 30  # the level moved up 30 today
    step, horizon = np.timedelta64(5, "m"), np.timedelta64(12, "h")
    out = seasonal_forecast(baseline, recent_ts, recent, ts[-1], horizon, step, 3.0)
    assert len(out["ts"]) == 144 and out["ts"][0] == ts[-1] + step
    seconds = (out["ts"] - ts[0]) / np.timedelta64(1, "s")
    truth = 130 + 20 * np.sin(2 * np.pi * seconds / DAY)
    assert np.abs(out["expected"] - truth).max() < 4  # the cycle, on today's level
    width = out["upper"] - out["lower"]
    assert np.all(width > 0) and np.allclose(width, 6 * baseline.scale(out["ts"]))


def test_no_recent_point_gives_an_empty_forecast() -> None:
    ts, values = _daily(3, 10.0)
    baseline = fit_baseline(ts, values)
    out = seasonal_forecast(baseline, ts[-5:], np.full(5, np.nan), ts[-1],
                            np.timedelta64(1, "h"), np.timedelta64(5, "m"), 3.0)  # fmt: skip
    assert all(len(v) == 0 for v in out.values())
