"""Where a new anomaly begins: the points whose score beats every score of the day before.

An anomaly score says how unusual each point is, so a long incident scores high for as
long as it lasts. Paging, the wall's "new anomalies" and NAB's scoring all want its
beginning: the first point that is more unusual than anything in the preceding window.
Later points of the same incident score no higher than its first ones and are dropped to
0; a second, stronger departure inside the window is a new onset. Uses scores up to each
point only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ONSET_WINDOW = pd.Timedelta(hours=24)


def onset_scores(
    ts: np.ndarray, scores: np.ndarray, window: pd.Timedelta = ONSET_WINDOW
) -> np.ndarray:
    """``scores`` where a point beats the maximum of the ``window`` before it, else 0.

    NaN scores (no expectation yet) count as 0; ``ts`` must be ascending.
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
    if scores.size == 0:
        return scores
    before = (
        pd.Series(scores, index=pd.DatetimeIndex(np.asarray(ts, dtype="datetime64[ns]")))
        .rolling(window, closed="left", min_periods=1)
        .max()
        .fillna(0.0)
        .to_numpy()
    )
    return np.where(scores > before, scores, 0.0)
