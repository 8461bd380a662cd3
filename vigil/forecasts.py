"""The seasonal forecast Explore draws after a series' last point: its fitted baseline's
cycle carried forward from the current level (see :func:`analytics.forecast.seasonal_forecast`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analytics.baseline import LEVEL_WINDOW
from analytics.detector import BAND_K
from analytics.forecast import seasonal_forecast
from jobs.refit import ModelReader
from vigil.store import Store

FORECAST_STEP = pd.Timedelta(minutes=5)
FORECAST_COLUMNS = ["series_id", "ts", "expected", "lower", "upper"]


def series_forecasts(
    store: Store, series_ids: list[int], horizon: pd.Timedelta, reader: ModelReader | None = None
) -> pd.DataFrame:
    """FORECAST_COLUMNS for each series with a fitted model, from its newest sample on;
    series without a model or recent samples are left out."""
    ids = [int(s) for s in series_ids]
    if not ids:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    placeholders = ", ".join("?" * len(ids))
    models = store.df(
        "SELECT b.series_id, m.artifact_path FROM baselines b JOIN models m USING (model_id) "
        f"WHERE b.series_id IN ({placeholders}) AND m.artifact_path IS NOT NULL",
        ids,
    )
    recent = store.df(
        "WITH newest AS (SELECT series_id, max(ts) AS last FROM samples "
        f"WHERE series_id IN ({placeholders}) GROUP BY series_id) "
        "SELECT s.series_id, s.ts, s.value FROM samples s JOIN newest n USING (series_id) "
        "WHERE s.ts > n.last - ? ORDER BY s.series_id, s.ts",
        [*ids, LEVEL_WINDOW.to_pytimedelta()],
    )
    reader = reader or ModelReader()
    frames = []
    for series_id, path in models.itertuples(index=False):  # a handful of charted series
        mine = recent[recent["series_id"] == series_id]
        if mine.empty or not Path(path).exists():
            continue
        ts = mine["ts"].to_numpy("datetime64[ns]")
        model = reader.load(Path(path))
        out = seasonal_forecast(model.baseline, ts, mine["value"].to_numpy(float), ts[-1],
                                np.timedelta64(horizon.value, "ns"),
                                np.timedelta64(FORECAST_STEP.value, "ns"), BAND_K)  # fmt: skip
        frames.append(pd.DataFrame({"series_id": series_id, **out}))
    if not frames:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FORECAST_COLUMNS]
