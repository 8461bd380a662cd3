"""Where a new anomaly begins: the points clearly more unusual than anything lately.

An anomaly score says how unusual each point is, so a long incident scores high for as
long as it lasts. Paging, the wall's "new anomalies" and NAB's scoring all want its
beginning: the first point that is more unusual than anything in the preceding window.
Later points of the same incident that score no higher are dropped to 0, and so are
those that score only a little higher: an incident that creeps upwards would otherwise
"begin" again with every new maximum. A second departure within the window is a new
onset when its log-odds beat those of the worst point before it by a margin: half that
point's log-odds, at most ``ONSET_MARGIN`` (odds e² ≈ 7.4 times as high: the step from a
score of 0.9 to 0.985). The margin grows with the earlier point because only an earlier
alert is news already: after a day whose worst point was a mild 0.7 (log-odds 0.85), a
point at 0.93 is the incident's first page, not a repeat.

An earlier point's log-odds fade linearly with its age, to nothing at the window's end
(``ONSET_WINDOW``, 30 hours): six hours later it still counts four fifths, a day later a
fifth. A hard cut-off would keep an alert from 23 hours ago at full weight and forget one
from 25 hours ago entirely; fading lets a second incident of nearly the same strength the
next afternoon page, while a repeat within the hour stays the same incident.

Within ``HOLD_OFF`` (an hour) after an alert-level point (``ALERT_SCORE``) that beat
everything before it, no new onset is raised however much worse the incident gets: it is
the page already sent growing, as Alertmanager's group interval treats it, not a new one.
A score climbing from 0.94 to 0.99 over four steps is one page, not four; a new page needs
an hour without a new high first.

Uses scores up to each point only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.detector import ALERT_SCORE, to_log_odds

ONSET_WINDOW = pd.Timedelta(hours=30)
ONSET_MARGIN = 2.0  # log-odds, at most
ONSET_MARGIN_SHARE = 0.5  # of the worst earlier point's (faded) log-odds
HOLD_OFF = pd.Timedelta(hours=1)
_CHUNK_CELLS = 4_000_000  # rows × window rows per block of the faded maximum


def onset_scores(
    ts: np.ndarray,
    scores: np.ndarray,
    window: pd.Timedelta = ONSET_WINDOW,
    margin: float = ONSET_MARGIN,
    hold_off: pd.Timedelta = HOLD_OFF,
) -> np.ndarray:
    """``scores`` where a point's log-odds beat the faded log-odds of every point in the
    ``window`` before it by ``ONSET_MARGIN_SHARE`` of the largest of them, at most
    ``margin``, and no alert-level point that did so lies within ``hold_off`` before it
    (held or not); else 0.

    Scores are the detector's (:func:`analytics.detector.to_score`); NaN (no expectation
    yet) and 0 count as "nothing unusual"; ``ts`` must be ascending.
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
    if scores.size == 0:
        return scores
    ts = np.asarray(ts, dtype="datetime64[ns]")
    log_odds = to_log_odds(scores)
    before = faded_max(ts, log_odds, window)
    required = before + np.clip(ONSET_MARGIN_SHARE * before, 0.0, margin)
    onsets = np.where((scores > 0) & (log_odds > required), scores, 0.0)
    if hold_off <= pd.Timedelta(0):
        return onsets
    alerts = pd.Series((onsets >= ALERT_SCORE).astype(float), index=pd.DatetimeIndex(ts))
    held = alerts.rolling(hold_off, closed="left", min_periods=1).max().to_numpy() > 0
    return np.where(held, 0.0, onsets)


def faded_max(ts: np.ndarray, log_odds: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """For each point, the largest log-odds of the points in the ``window`` before it, a
    positive one scaled by ``1 - age / window``; -inf where there is none. Negative
    log-odds (nothing unusual) are not faded: fading would raise them towards 0.

    Computed on a band of the rows each window can hold, a block of rows at a time, so
    memory stays bounded for minute-resolution weeks."""
    n = len(log_odds)
    seconds = ts.astype("datetime64[ns]").astype(np.int64) / 1e9
    span = window.total_seconds()
    first = np.searchsorted(seconds, seconds - span, side="right")
    width = int(np.max(np.arange(n) - first)) if n else 0
    out = np.full(n, -np.inf)
    if width == 0:
        return out
    lags = np.arange(1, width + 1)
    block = max(1, _CHUNK_CELLS // width)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        earlier = rows[:, None] - lags[None, :]
        inside = earlier >= first[rows][:, None]
        earlier = np.maximum(earlier, 0)
        value = log_odds[earlier]
        weight = 1.0 - (seconds[rows][:, None] - seconds[earlier]) / span
        with np.errstate(invalid="ignore"):  # inf × 0 outside the window, masked below
            faded = value * np.where(value > 0, weight, 1.0)
        out[rows] = np.max(np.where(inside, faded, -np.inf), axis=1)
    return out
