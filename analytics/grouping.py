"""Grouping alerts that belong together, as Alertmanager's group_by and group_interval do.

One incident usually raises many alerts; counting, notifying and scoring them one by one
overstates it. Alerts with the same group key whose firing intervals overlap, or follow
each other within ``group_interval``, form one group (transitively).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_FOREVER = np.iinfo(np.int64).max


def _keys(alerts: pd.DataFrame, group_by: tuple[str, ...]) -> np.ndarray:
    """One integer per distinct group_by tuple, missing values counting as ''."""
    if not group_by:
        return np.zeros(len(alerts), dtype=np.int64)
    columns = alerts[list(group_by)].astype(object).where(alerts[list(group_by)].notna(), "")
    codes = pd.MultiIndex.from_frame(columns.astype(str)).factorize(sort=True)[0]
    return np.asarray(codes, dtype=np.int64)


def group_alerts(
    alerts: pd.DataFrame, *, group_by: tuple[str, ...], group_interval_seconds: int
) -> np.ndarray:
    """A group id (0, 1, ...) for each alert row, in the order of the input rows.

    Intervals are ``[fired_at, resolved_at]``, open-ended while ``resolved_at`` is NaT.
    Ids are numbered by group start time, then by group key.
    """
    if alerts.empty:
        return np.array([], dtype=np.int64)
    start = np.asarray(pd.to_datetime(alerts["fired_at"]), dtype="datetime64[ns]")
    if np.isnat(start).any():
        raise ValueError("every alert to group needs fired_at")
    start = start.view(np.int64)
    end = np.asarray(pd.to_datetime(alerts["resolved_at"]), dtype="datetime64[ns]")
    end = np.where(np.isnat(end), _FOREVER, end.view(np.int64))
    end = np.maximum(end, start)
    key = _keys(alerts, group_by)
    order = np.lexsort((start, key))
    key, start, end = key[order], start[order], end[order]
    # How far each key's alerts so far reach: a later alert joins if it starts before that.
    reach = pd.Series(end).groupby(key).cummax().to_numpy()
    gap = group_interval_seconds * 1_000_000_000
    new = np.ones(len(key), dtype=bool)
    same_key = key[1:] == key[:-1]
    prev_reach = reach[:-1]
    joins = same_key & ((start[1:] <= prev_reach) | (start[1:] - prev_reach < gap))
    new[1:] = ~joins
    sorted_ids = np.cumsum(new) - 1
    return _renumber_by_start(sorted_ids, start, order)


def _renumber_by_start(sorted_ids: np.ndarray, start: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Map ids to chronological order of group start, and back to input row order."""
    first_start = start[np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])]
    rank = np.empty(len(first_start), dtype=np.int64)
    rank[np.argsort(first_start, kind="stable")] = np.arange(len(first_start))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = rank[sorted_ids]
    return out
