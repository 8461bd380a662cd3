"""Seasonal baseline: what a series usually does at this time of day and week.

Fitting works on a 5-minute grid (cheap, and smooth enough for cycles measured in hours):
a daily cycle is kept when two days of history show it in the autocorrelation, STL
separates it, and a day-of-week modulation is added when ten days or more show one; a
series with no daily cycle may still have a shorter one (an hour to a day), found at the
strongest autocorrelation peak. The result is a profile by 5-minute slot of the cycle
(none when there is no cycle). Online, the
level is a rolling median of the deseasonalised series over the previous hours, so a
sustained step is re-baselined after a while instead of alerting forever. The scale is a
MAD per hour of day, because noise usually grows with traffic.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import acf

from analytics.rolling import rolling_median

GRID = pd.Timedelta(minutes=5)
DAY_SLOTS = 288
WEEK_SLOTS = 7 * DAY_SLOTS
MIN_ACF = 0.3
# Loess jumps evaluate STL's smoothers every few points and interpolate between: about
# three times as fast as the full fit at 14 days, with the same profile to within a small share
# of the residual's sigma (tests/analytics/test_detector.py checks it against the full fit).
STL_JUMPS = {"trend_jump": 58, "low_pass_jump": 58, "seasonal_jump": 10}
MIN_PERIOD_SLOTS = 12  # cycles shorter than an hour are noise to a 5-minute grid
WEEKLY_MIN_SLOTS = 10 * DAY_SLOTS
WEEKLY_MIN_EFFECT = 0.5
MIDNIGHT_BLEND_SLOTS = 36  # three hours either side
LEVEL_WINDOW = pd.Timedelta(hours=3)
MAD_TO_SIGMA = 1.4826
SPREAD_FLOOR = 0.1
NS_PER_SLOT = GRID.value
EPOCH_MONDAY = pd.Timestamp("1970-01-05").value  # slot 0 of the week is Monday 00:00 UTC


@dataclass(frozen=True)
class SeasonalBaseline:
    """A fitted baseline; ``profile`` is indexed by 5-minute slot of the period."""

    period_slots: int  # 0 (no cycle), DAY_SLOTS, WEEK_SLOTS or a shorter cycle found by ACF
    periods_found: tuple[int, ...]
    profile: np.ndarray
    level: float  # median deseasonalised value of the training window
    hourly_scale: np.ndarray  # 24 robust sigmas of the residual, by hour of day (UTC)
    scale_floor: float

    def seasonal(self, ts: np.ndarray) -> np.ndarray:
        """Seasonal offset at each time (datetime64[ns]), interpolated between slots."""
        if self.period_slots == 0:
            return np.zeros(len(ts))
        position = (ts.astype("int64") - EPOCH_MONDAY) / NS_PER_SLOT
        position = np.mod(position, self.period_slots)
        below = np.floor(position).astype(int)
        frac = position - below
        above = (below + 1) % self.period_slots
        return self.profile[below] * (1 - frac) + self.profile[above] * frac

    def scale(self, ts: np.ndarray) -> np.ndarray:
        hours = (ts.astype("int64") // 3_600_000_000_000) % 24
        return self.hourly_scale[hours]

    def expected(
        self, ts: np.ndarray, values: np.ndarray, seasonal: np.ndarray | None = None
    ) -> np.ndarray:
        """Expected value at each point from the seasonal profile and the level of the hours
        before it (the point itself is never part of its own expectation). NaN where no
        earlier point exists: with no context, no honest expectation either. ``seasonal``:
        :meth:`seasonal` of ``ts``, when the caller has it already."""
        seasonal = self.seasonal(ts) if seasonal is None else seasonal
        return seasonal + rolling_median(ts, values - seasonal, LEVEL_WINDOW, 1, closed="left")


def to_grid(ts: np.ndarray, values: np.ndarray) -> pd.Series:
    """Mean per 5-minute slot on a regular grid, gaps filled by time interpolation."""
    series = pd.Series(values, index=pd.DatetimeIndex(ts)).dropna()
    gridded = series.resample(GRID).mean()
    return gridded.interpolate("time", limit_direction="both")


def has_daily_cycle(gridded: np.ndarray) -> bool:
    """Whether two days of history show a clear daily cycle (slow trends removed first)."""
    if len(gridded) < 2 * DAY_SLOTS or np.ptp(gridded) <= 1e-12 * max(abs(gridded[0]), 1.0):
        return False
    trend = pd.Series(gridded).rolling(DAY_SLOTS, center=True, min_periods=1).mean()
    detrended = gridded - trend.to_numpy()
    correlation = acf(detrended, nlags=DAY_SLOTS, fft=True)
    return bool(correlation[DAY_SLOTS] >= MIN_ACF)


def sub_daily_period(gridded: np.ndarray) -> int:
    """The period in slots of a cycle shorter than a day (a batch job every four hours, a
    cron that fills a queue), found as the strongest peak of the autocorrelation between
    one hour and a day with at least three cycles of history; 0 when there is none.

    Among peaks nearly as strong as the best, the shortest wins: a cycle's multiples peak
    too, and the period is the fundamental.
    """
    max_lag = min(DAY_SLOTS - 1, len(gridded) // 3)
    if max_lag <= 2 * MIN_PERIOD_SLOTS or np.ptp(gridded) <= 1e-12 * max(abs(gridded[0]), 1.0):
        return 0
    trend = pd.Series(gridded).rolling(DAY_SLOTS, center=True, min_periods=1).mean()
    correlation = acf(gridded - trend.to_numpy(), nlags=max_lag, fft=True)
    lags = np.arange(MIN_PERIOD_SLOTS, max_lag)
    peaks = lags[
        (correlation[lags] > correlation[lags - 1]) & (correlation[lags] >= correlation[lags + 1])
    ]
    strong = peaks[correlation[peaks] >= MIN_ACF]
    if strong.size == 0:
        return 0
    best = correlation[strong].max()
    return int(strong[correlation[strong] >= 0.9 * best][0])


def _slots(index: pd.DatetimeIndex, period: int) -> np.ndarray:
    return ((index.asi8 - EPOCH_MONDAY) // NS_PER_SLOT) % period


def _slot_medians(index: pd.DatetimeIndex, values: np.ndarray, period: int) -> np.ndarray:
    """Median of each slot over the cycles seen, smoothed by a running median of three
    slots: that removes a lone slot's noise yet keeps a step sharp (a fleet scaled up at
    09:00 every day), where a running mean would smear it over the slots either side."""
    position = (index.asi8 - EPOCH_MONDAY) // NS_PER_SLOT
    cycle = position // period - position[0] // period
    table = np.full((int(cycle[-1]) + 1, period), np.nan)
    table[cycle, position % period] = values
    with warnings.catch_warnings():  # a slot never seen is filled from its neighbours below
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(table, axis=0)
    medians = pd.Series(medians).interpolate(limit_direction="both").fillna(0.0).to_numpy()
    padded = np.concatenate([medians[-1:], medians, medians[:1]])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 3), axis=1)


def _day_fit(profile: np.ndarray, residual: np.ndarray) -> tuple[float, float]:
    """Least squares of residual on (1, daily profile), refitted without outliers."""
    design = np.column_stack([np.ones(len(profile)), profile])
    keep = np.isfinite(residual)
    coef = np.zeros(2)
    for _ in range(2):
        if keep.sum() < 12:
            break
        coef = np.linalg.lstsq(design[keep], residual[keep], rcond=None)[0]
        error = residual - design @ coef
        keep &= np.abs(error) <= 3 * max(_robust_sigma(error[keep]), 1e-12)
    return float(coef[0]), float(coef[1])


def _crossfaded(offsets: np.ndarray, gains: np.ndarray, daily: np.ndarray) -> np.ndarray:
    """Each day's offset + gain × daily profile, blended linearly with the neighbouring
    day over the hours around midnight: weekly rhythms change gradually, and a step at
    midnight would itself look like an anomaly."""
    slots = np.arange(WEEK_SLOTS)
    day, slot_of_day = slots // DAY_SLOTS, slots % DAY_SLOTS

    def of(days: np.ndarray) -> np.ndarray:
        return offsets[days] + gains[days] * daily[slot_of_day]

    own, before, after = of(day), of((day - 1) % 7), of((day + 1) % 7)
    half = MIDNIGHT_BLEND_SLOTS
    w_before = np.clip((half - slot_of_day) / (2 * half), 0, None)
    w_after = np.clip((half + slot_of_day - DAY_SLOTS) / (2 * half), 0, None)
    return own * (1 - w_before - w_after) + before * w_before + after * w_after


def _weekly_profile(
    index: pd.DatetimeIndex, daily: np.ndarray, residual: np.ndarray, sigma: float
) -> np.ndarray | None:
    """The daily profile modulated by day of week, or None when days look alike.

    MSTL needs more than two whole weeks to fit a weekly cycle; most teams keep two.
    Weekly shape in operations data is mostly "weekends are quieter": each day of the
    week gets an offset and a gain on the daily profile, fitted to the deseasonalised series with
    outliers dropped, so an incident in the training window does not echo a week later.
    """
    if len(index) < WEEKLY_MIN_SLOTS:
        return None
    slot_of_week = _slots(index, WEEK_SLOTS)
    day, slot = slot_of_week // DAY_SLOTS, slot_of_week % DAY_SLOTS
    offsets, gains = np.zeros(7), np.zeros(7)
    for weekday in range(7):
        rows = day == weekday
        if rows.sum() < DAY_SLOTS // 2:
            return None
        offsets[weekday], gains[weekday] = _day_fit(daily[slot[rows]], residual[rows])
    adjustment = _crossfaded(offsets, gains, daily)
    if np.std(adjustment) < WEEKLY_MIN_EFFECT * sigma:
        return None
    return np.tile(daily, 7) + adjustment


def _spread(values: np.ndarray) -> float:
    """The range of the middle 98%: for Gaussian noise 4.65 sigma, so a tenth of it stays
    under the half-sigma floor and only matters when the MAD is near zero."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0
    high, low = np.quantile(values, [0.99, 0.01])
    return float(high - low)


def _robust_sigma(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def fit_baseline(ts: np.ndarray, values: np.ndarray) -> SeasonalBaseline:
    """Fit on history (datetime64[ns] ts, float values, NaN allowed)."""
    return fit_baseline_and_expected(ts, values)[0]


def fit_baseline_and_expected(
    ts: np.ndarray, values: np.ndarray
) -> tuple[SeasonalBaseline, np.ndarray]:
    """The fitted baseline and its expected value at each finite point of the history
    (the fit computes it anyway; a detector fitted next needs it too)."""
    ts = np.asarray(ts, dtype="datetime64[ns]")  # slots are counted in nanoseconds
    gridded = to_grid(ts, values)
    period, periods, profile = 0, (), np.zeros(0)
    if has_daily_cycle(gridded.to_numpy(float)):
        decomposition = STL(gridded.to_numpy(float), period=DAY_SLOTS, **STL_JUMPS).fit()
        # The profile is the median over days of each slot, not the mean of STL's
        # seasonal part: an incident in the training window must not echo every day.
        detrended = gridded.to_numpy(float) - np.asarray(decomposition.trend)
        profile = _slot_medians(gridded.index, detrended, DAY_SLOTS)
        seasonal = profile[_slots(gridded.index, DAY_SLOTS)]
        # the weekly part hides in STL's trend as much as in its residual
        residual = gridded.to_numpy(float) - seasonal
        residual = residual - np.median(residual)
        period, periods = DAY_SLOTS, (DAY_SLOTS,)
        weekly = _weekly_profile(gridded.index, profile, residual, _robust_sigma(residual))
        if weekly is not None:
            period, periods, profile = WEEK_SLOTS, (DAY_SLOTS, WEEK_SLOTS), weekly
    elif short := sub_daily_period(gridded.to_numpy(float)):
        decomposition = STL(gridded.to_numpy(float), period=short).fit()
        detrended = gridded.to_numpy(float) - np.asarray(decomposition.trend)
        period, periods = short, (short,)
        profile = _slot_medians(gridded.index, detrended, short)
    draft = SeasonalBaseline(period, periods, profile, 0.0, np.ones(24), 0.0)
    finite = np.isfinite(values)
    ts, values = ts[finite], values[finite]
    seasonal = draft.seasonal(ts)
    deseasonalised = values - seasonal
    level = float(np.median(deseasonalised)) if deseasonalised.size else 0.0
    expected = draft.expected(ts, values, seasonal)
    residual = values - expected
    # The floor keeps a flat series from turning every wobble into an anomaly, and a sparse
    # one (mostly zeros, some bursts: its MAD is 0) from putting its bursts at z = 1e17.
    overall = _robust_sigma(residual)
    floor = max(overall * 0.5, SPREAD_FLOOR * _spread(residual), 1e-3 * abs(level), 1e-9)
    hours = (ts.astype("int64") // 3_600_000_000_000) % 24
    hourly = np.array([_robust_sigma(residual[hours == h]) for h in range(24)])
    hourly = np.where(np.isfinite(hourly) & (hourly > 0), hourly, overall)
    hourly = np.maximum(_smooth_circular(hourly), floor)
    return SeasonalBaseline(period, periods, profile, level, hourly, floor), expected


def _smooth_circular(hourly: np.ndarray) -> np.ndarray:
    """Neighbouring hours share their noise level; a three-hour circular mean."""
    return (np.roll(hourly, 1) + hourly + np.roll(hourly, -1)) / 3
