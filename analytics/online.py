"""The detector as an online object: ``fit(history)``, then ``update(new points)`` forever.

The detector itself (:mod:`analytics.detector`) is a pure function of a fitted model and a
stretch of recent points. :class:`OnlineDetector` carries exactly the recent points that
function needs (the level's hours plus the rolling windows' minutes) as its state, so
``update`` gives for every new point what scoring the whole series at once would give,
and never looks at a point later than the one it scores. State and model travel together
as one versioned artifact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.artifacts import pack, unpack
from analytics.baseline import LEVEL_WINDOW
from analytics.detector import DetectorModel, fit_detector, rolling_reach, score_series

STATE_MAGIC = b"VIGILONL"
STATE_VERSION = 1
COLUMNS = ("ts", "value", "expected", "lower", "upper", "score")


def context_span(step_seconds: int) -> pd.Timedelta:
    """How much history a point's score depends on: two level windows (the drift compares
    the level with the level one window before) behind the oldest point any rolling
    window of it reaches, plus one step of slack."""
    return 2 * LEVEL_WINDOW + rolling_reach(step_seconds) + pd.Timedelta(seconds=step_seconds)


@dataclass
class _State:
    model: DetectorModel
    ts: np.ndarray  # datetime64[ns], ascending: the context kept for the next update
    values: np.ndarray
    last_ts: np.datetime64  # newest point seen, finite or not


class OnlineDetector:
    """One series' detector. ``fit`` first; ``update`` with points newer than any seen."""

    def __init__(self, step_seconds: int = 60) -> None:
        self.step_seconds = step_seconds
        self._state: _State | None = None

    @property
    def model(self) -> DetectorModel:
        return self._fitted().model

    def _fitted(self) -> _State:
        if self._state is None:
            raise ValueError("the detector is not fitted: call fit(history) first")
        return self._state

    def fit(self, ts: np.ndarray, values: np.ndarray) -> OnlineDetector:
        """Fit on ``history``; its last hours become the context of the first update.

        Refitting later keeps working the same way: fit on a fresh window of history.
        """
        ts, values = _arrays(ts, values)
        _check_ascending(ts, None)
        model = fit_detector(ts, values, step_seconds=self.step_seconds)
        self._state = _State(model, ts, values, ts[-1])
        self._trim()
        return self

    def update(self, ts: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        """Expected value, band and score for each new point, in input order.

        A NaN value is a gap: its row has NaN expectation and score. Points must be newer
        than every point seen before; otherwise nothing changes and ValueError says why.
        """
        state = self._fitted()
        ts, values = _arrays(ts, values)
        _check_ascending(ts, state.last_ts)
        out = pd.DataFrame({"ts": ts, "value": values})
        if len(ts) == 0:
            return out.reindex(columns=list(COLUMNS))
        all_ts = np.concatenate([state.ts, ts])
        all_values = np.concatenate([state.values, values])
        scored = score_series(state.model, all_ts, all_values, score_from=ts[0])
        # scored rows are the finite new points, in order: place them by timestamp
        rows = np.searchsorted(ts, scored["ts"].to_numpy("datetime64[ns]"))
        for column in COLUMNS[2:]:
            filled = np.full(len(ts), np.nan)
            filled[rows] = scored[column].to_numpy(float)
            out[column] = filled
        state.ts, state.values, state.last_ts = all_ts, all_values, ts[-1]
        self._trim()
        return out[list(COLUMNS)]

    def _trim(self) -> None:
        state = self._fitted()
        keep_from = state.last_ts - context_span(self.step_seconds).to_timedelta64()
        first = int(np.searchsorted(state.ts, keep_from, side="left"))
        state.ts, state.values = state.ts[first:], state.values[first:]

    def to_bytes(self) -> bytes:
        """The model and its context, versioned: reload with :meth:`from_bytes`."""
        return pack(STATE_MAGIC, STATE_VERSION, (self.step_seconds, self._fitted()))

    @classmethod
    def from_bytes(cls, data: bytes) -> OnlineDetector:
        step_seconds, state = unpack(data, STATE_MAGIC, STATE_VERSION, "online detector state")
        if not isinstance(state, _State):
            raise ValueError("artifact does not hold an online detector state")
        detector = cls(step_seconds)
        detector._state = state
        return detector


def _arrays(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.asarray(ts, dtype="datetime64[ns]")
    values = np.asarray(values, dtype=float)
    if ts.shape != values.shape or ts.ndim != 1:
        raise ValueError(f"ts and values must be 1-D and alike, got {ts.shape} and {values.shape}")
    return ts, values


def _check_ascending(ts: np.ndarray, after: np.datetime64 | None) -> None:
    if len(ts) and np.isnat(ts).any():
        raise ValueError("timestamps must not be missing (NaT)")
    if len(ts) > 1 and not (np.diff(ts.astype(np.int64)) > 0).all():
        raise ValueError("timestamps must be strictly increasing")
    if after is not None and len(ts) and ts[0] <= after:
        raise ValueError(
            f"point at {pd.Timestamp(ts[0])} is not newer than the last one seen "
            f"({pd.Timestamp(after)}); the detector moves forward only"
        )
