"""Time helpers shared by sources and jobs: everything is UTC, tz-naive, nanoseconds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def utc_now() -> pd.Timestamp:
    """Now in UTC without tz info, the convention of every stored timestamp."""
    return pd.Timestamp.now("UTC").tz_localize(None).as_unit("ns")


def floor_step(ts: pd.Timestamp, step_seconds: int) -> pd.Timestamp:
    return pd.Timestamp(ts).floor(f"{step_seconds}s").as_unit("ns")


def as_ns(values: object) -> np.ndarray:
    """Any datetime-like array as datetime64[ns] (pandas 3 and DuckDB hand out microseconds)."""
    return np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")


def parse_time(text: str, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """An ISO time (UTC unless it says otherwise) or a relative one such as ``-2h`` or ``now``."""
    now = now if now is not None else utc_now()
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("-"):
        return now - pd.Timedelta(text[1:])
    ts = pd.Timestamp(text)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("ns")
