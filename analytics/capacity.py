"""Capacity forecasts: when a resource that fills up (a disk, memory) reaches its limit
if it keeps growing as it did over the last hours.

The wall asks one question of many series at once: "what runs out first?". A straight
line fitted over a recent window answers it the way an SRE would eyeball a chart, and the
way ``predict_linear`` does in a Prometheus rule; the crossing time comes from
:func:`analytics.forecast.seconds_to_threshold`, so forecast rules and the wall agree.
All series are fitted together with grouped sums (``np.bincount``), no loop per series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.forecast import seconds_to_threshold

HORIZON = pd.Timedelta(hours=24)
"""How far ahead a fit over hours is believed: node-exporter's own "filling up" alerts fit
6 hours and look 24 ahead. Further out, ordinary drift passes for a trend: at 40 random
times on the demo estate, 6-hour fits put 4.6 of its 31 disk and memory series "full
within 7 days" on average; all but three were healthy memory drifting, 33 to 166 hours
out, while the three leaking hosts were 4 to 6 hours from 100 %."""
MIN_POINTS = 10
"""Fewer samples than this in the window give no forecast: a line through a handful of
points is noise, and a wall that cries "disk full" on noise is soon ignored."""

FORECAST_COLUMNS = ["series_id", "points", "last", "level", "slope", "eta_seconds", "at_risk"]


def linear_trends(
    codes: np.ndarray, x: np.ndarray, y: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares ``y = level + slope * x`` for every group at once.

    ``codes`` says which group (0 .. n_groups-1) each point belongs to. Points where x or y
    is not finite are ignored, so gaps and NaNs just thin the fit. Returns (points, level,
    slope) per group; level is the line at ``x = 0`` and both are NaN where the points do
    not span two distinct x values. Centred sums keep the fit exact for x in epoch seconds.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    codes, x, y = np.asarray(codes)[ok], np.asarray(x, float)[ok], np.asarray(y, float)[ok]
    points = np.bincount(codes, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.bincount(codes, x, n_groups) / points
        mean_y = np.bincount(codes, y, n_groups) / points
        dx, dy = x - mean_x[codes], y - mean_y[codes]
        sxx = np.bincount(codes, dx * dx, n_groups)
        sxy = np.bincount(codes, dx * dy, n_groups)
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
    return points, mean_y - slope * mean_x, slope


def _last_values(frame: pd.DataFrame) -> pd.Series:
    """The newest finite value of each series: what "already full" is judged on."""
    finite = frame[np.isfinite(frame["value"].to_numpy(float))]
    return finite.sort_values("ts").groupby("series_id")["value"].last()


def capacity_forecast(
    samples: pd.DataFrame,
    end: pd.Timestamp,
    threshold: float = 1.0,
    horizon: pd.Timedelta = HORIZON,
    min_points: int = MIN_POINTS,
) -> pd.DataFrame:
    """Per series (``series_id, ts, value`` rows): the trend at ``end`` and how long until
    it reaches ``threshold``, soonest first.

    ``level`` is the fitted value at ``end``, ``slope`` in units per second.
    ``eta_seconds`` is 0 when the newest value is already at the threshold, +inf for a flat
    or falling trend, NaN when there are too few points to fit; ``at_risk`` says the
    threshold is reached within ``horizon``.
    """
    if samples.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    codes, ids = pd.factorize(samples["series_id"], sort=True)
    x = (pd.to_datetime(samples["ts"]) - pd.Timestamp(end)).dt.total_seconds().to_numpy()
    points, level, slope = linear_trends(codes, x, samples["value"].to_numpy(float), len(ids))
    last = _last_values(samples).reindex(ids).to_numpy(float)
    fitted = (points >= min_points) & np.isfinite(slope)
    eta = np.where(fitted, seconds_to_threshold(level, slope, threshold, ">="), np.nan)
    eta = np.where(last >= threshold, 0.0, eta)
    frame = pd.DataFrame(
        {"series_id": ids, "points": points.astype(int), "last": last, "level": level,
         "slope": slope, "eta_seconds": eta}
    )  # fmt: skip
    frame["at_risk"] = frame["eta_seconds"] <= horizon.total_seconds()
    order = frame.assign(_full=-frame["last"].fillna(-np.inf))
    return (
        order.sort_values(["eta_seconds", "_full", "series_id"], na_position="last")
        .drop(columns="_full")
        .reset_index(drop=True)
    )


def trend_line(
    level: float, slope: float, end: pd.Timestamp, start: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Two points of the fitted line, from ``start`` (the window's start) to ``until`` (the
    projection's end), for drawing the trend and its extrapolation as one segment."""
    ts = pd.to_datetime([start, until])
    x = (ts - pd.Timestamp(end)).total_seconds().to_numpy()
    return pd.DataFrame({"ts": ts, "value": level + slope * x})
