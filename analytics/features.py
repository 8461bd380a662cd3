"""Features the isolation forest sees, all computed from the past and present only.

The residual is expressed in units of the baseline's scale (a z value) so one forest
setting suits every series, whatever its unit or size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLLING_WINDOW = pd.Timedelta(minutes=15)
FEATURE_NAMES = ("z", "z_change", "z_rolling_mean", "z_rolling_std")


def detector_features(ts: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(n, 4) matrix: residual z, its change since the previous point, and its rolling mean
    and standard deviation over the last 15 minutes (which make a sustained or jittery
    departure stand out where a single point would not)."""
    series = pd.Series(z, index=pd.DatetimeIndex(ts))
    rolling = series.rolling(ROLLING_WINDOW, min_periods=1)
    change = series.diff().fillna(0.0).to_numpy()
    features = np.column_stack(
        [z, change, rolling.mean().to_numpy(), rolling.std().fillna(0.0).to_numpy()]
    )
    return np.nan_to_num(features, nan=0.0, posinf=1e6, neginf=-1e6)
