"""Where a new anomaly begins: the points clearly more unusual than anything the day before.

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
point at 0.93 is the incident's first page, not a repeat. Uses scores up to each point
only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.detector import to_log_odds

ONSET_WINDOW = pd.Timedelta(hours=24)
ONSET_MARGIN = 2.0  # log-odds, at most
ONSET_MARGIN_SHARE = 0.5  # of the worst earlier point's log-odds


def onset_scores(
    ts: np.ndarray,
    scores: np.ndarray,
    window: pd.Timedelta = ONSET_WINDOW,
    margin: float = ONSET_MARGIN,
) -> np.ndarray:
    """``scores`` where a point's log-odds beat those of every point in the ``window``
    before it by ``ONSET_MARGIN_SHARE`` of the largest of them, at most ``margin``, else 0.

    Scores are the detector's (:func:`analytics.detector.to_score`); NaN (no expectation
    yet) and 0 count as "nothing unusual"; ``ts`` must be ascending.
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
    if scores.size == 0:
        return scores
    log_odds = to_log_odds(scores)
    before = (
        pd.Series(log_odds, index=pd.DatetimeIndex(np.asarray(ts, dtype="datetime64[ns]")))
        .rolling(window, closed="left", min_periods=1)
        .max()
        .fillna(-np.inf)
        .to_numpy()
    )
    required = before + np.clip(ONSET_MARGIN_SHARE * before, 0.0, margin)
    return np.where((scores > 0) & (log_odds > required), scores, 0.0)
