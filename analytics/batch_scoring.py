"""Many series' detectors scored together, one tick at a time.

:func:`analytics.detector.score_series` is vectorised along time: right for a day of one
series, wrong for an evaluation tick, where ten thousand series each bring one new point
and pandas' per-series rolling windows cost more than the arithmetic. :class:`BatchScorer`
turns the detector on its side. Each series' recent context sits in a row of 2-D arrays
(timestamps, deseasonalised values, residual z), newest point in the last column; a tick
appends one column's worth of points and computes every windowed statistic for all rows
at once as masked row-wise medians and means, then scores the isolation forest once per
forest over every row that shares it (the refit job's pooled forest is shared by all).

The figures are the detector's own, point for point (the tests compare them with
``score_series``): the level is the median of the deseasonalised points in the three hours
before a point (whose values also widen the training range novelty is measured
against), the sustained residual the median z of the last ten minutes (three points
at least), the forest's rolling features the mean and spread of z over fifteen minutes,
the drift the level against the level kept with the newest point three hours older, the
jitter the median move of the deseasonalised value from each point to the next, in scale
units, over the last half hour (six moves at least; none across a gap longer than that),
and the stillness the share of those moves that repeat the raw value exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.baseline import EPOCH_MONDAY, LEVEL_WINDOW, NS_PER_SLOT
from analytics.detector import (
    BAND_K,
    JITTER_STEPS,
    DetectorModel,
    _z_log_odds,
    drift_z,
    jitter_window,
    novelty_log_odds,
    residual_z,
    still_log_odds,
    sustained_window,
    to_score,
)
from analytics.features import ROLLING_WINDOW
from analytics.forest_scoring import FlatForest
from analytics.online import context_span

EMPTY = np.iinfo(np.int64).min // 2  # an unused buffer slot: older than any window start
NS_PER_HOUR = 3_600_000_000_000
OUTPUT = ("expected", "lower", "upper", "score")


@dataclass(frozen=True)
class _Params:
    """Every row's model as arrays, so one numpy expression serves all series."""

    profile: np.ndarray  # all rows' seasonal profiles, concatenated
    offset: np.ndarray  # where each row's profile starts in ``profile``
    period: np.ndarray  # slots of each row's cycle, 0 for none
    hourly_scale: np.ndarray  # (rows, 24)
    z_centre: np.ndarray
    sustained_centre: np.ndarray
    sustained_ns: np.ndarray  # each row's sustained window
    span_ns: np.ndarray  # each row's context span
    forests: tuple[FlatForest, ...]
    forest: np.ndarray  # index into ``forests``, -1 for a row without one
    forest_centre: np.ndarray
    forest_width: np.ndarray
    range_low: np.ndarray
    range_high: np.ndarray
    range_unit: np.ndarray
    level: np.ndarray  # each row's training level
    drift_centre: np.ndarray
    jitter_centre: np.ndarray
    jitter_ns: np.ndarray  # each row's jitter window
    repeat_share: np.ndarray

    @classmethod
    def of(cls, models: Sequence[DetectorModel]) -> _Params:
        profiles = [np.asarray(m.baseline.profile, dtype=float) for m in models]
        sizes = np.array([len(p) for p in profiles], dtype=np.int64)
        forests: dict[int, int] = {}
        flats: list[FlatForest] = []
        index = np.full(len(models), -1)
        for row, model in enumerate(models):
            if model.forest is None:
                continue
            key = id(model.forest.forest)
            if key not in forests:
                forests[key] = len(flats)
                flats.append(model.forest.flat)
            index[row] = forests[key]
        steps = [m.step_seconds for m in models]
        return cls(
            np.concatenate(profiles) if profiles else np.zeros(0),
            np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
            np.array([m.baseline.period_slots for m in models], dtype=np.int64),
            np.array([m.baseline.hourly_scale for m in models], dtype=float).reshape(-1, 24),
            np.array([m.z_centre for m in models], dtype=float),
            np.array([m.sustained_centre for m in models], dtype=float),
            np.array([sustained_window(s).value for s in steps], dtype=np.int64),
            np.array([context_span(s).value for s in steps], dtype=np.int64),
            tuple(flats),
            index,
            np.array([m.forest.centre if m.forest else np.nan for m in models]),
            np.array([m.forest.width if m.forest else np.nan for m in models]),
            np.array([m.range_low for m in models], dtype=float),
            np.array([m.range_high for m in models], dtype=float),
            np.array([m.range_unit for m in models], dtype=float),
            np.array([m.baseline.level for m in models], dtype=float),
            np.array([m.drift_centre for m in models], dtype=float),
            np.array([m.jitter_centre for m in models], dtype=float),
            np.array([jitter_window(s).value for s in steps], dtype=np.int64),
            np.array([m.repeat_share for m in models], dtype=float),
        )  # fmt: skip

    def seasonal(self, rows: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """``SeasonalBaseline.seasonal`` of each row at its time(s): ``ts`` is (len(rows),)
        or (len(rows), k) int64 nanoseconds, with the same arithmetic as the baseline."""
        period = self.period[rows].reshape((-1,) + (1,) * (ts.ndim - 1))
        offset = self.offset[rows].reshape(period.shape)
        cyclic = period > 0
        safe = np.where(cyclic, period, 1)
        position = np.mod((ts - EPOCH_MONDAY) / NS_PER_SLOT, safe)
        below = np.floor(position).astype(np.int64)
        frac = position - below
        above = (below + 1) % safe
        size = len(self.profile)
        low = self.profile[np.clip(offset + below, 0, max(size - 1, 0))] if size else 0.0
        high = self.profile[np.clip(offset + above, 0, max(size - 1, 0))] if size else 0.0
        return np.where(cyclic, low * (1 - frac) + high * frac, 0.0)


def _masked_median(values: np.ndarray, mask: np.ndarray, min_count: int) -> np.ndarray:
    """Row-wise median of ``values`` where ``mask`` (NaN values ignored); NaN for rows with
    fewer than ``min_count`` such values. Only columns some row uses are sorted."""
    used = mask.any(axis=0)
    if not used.any():
        return np.full(len(values), np.nan)
    first = int(np.argmax(used))
    data = np.where(mask[:, first:], values[:, first:], np.nan)
    count = np.count_nonzero(~np.isnan(data), axis=1)
    data.sort(axis=1)  # NaN last
    rows = np.arange(len(data))
    low, high = np.maximum((count - 1) // 2, 0), np.maximum(count // 2, 0)
    median = (data[rows, low] + data[rows, high]) / 2
    return np.where(count >= max(min_count, 1), median, np.nan)


def _masked_mean_std(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise mean and sample standard deviation (pandas' rolling: NaN ignored, std NaN
    below two values)."""
    data = np.where(mask & ~np.isnan(values), values, 0.0)
    count = np.count_nonzero(mask & ~np.isnan(values), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = data.sum(axis=1) / count
        centred = np.where(mask & ~np.isnan(values), values - mean[:, None], 0.0)
        std = np.sqrt((centred**2).sum(axis=1) / (count - 1))
    return np.where(count >= 1, mean, np.nan), np.where(count >= 2, std, np.nan)


class BatchScorer:
    """The detectors of many series, each row one series, advanced together.

    Build it with :meth:`from_context` (each series' model and recent points), then call
    :meth:`update` with each tick's new points. No row ever looks at a later point.
    """

    def __init__(self, models: Sequence[DetectorModel], capacity: int = 1) -> None:
        shape = (len(models), max(capacity, 1))
        self._params = _Params.of(models)
        self._ts = np.full(shape, EMPTY, dtype=np.int64)
        self._values = np.full(shape, np.nan)
        self._deseasonalised = np.full(shape, np.nan)
        self._z = np.full(shape, np.nan)
        self._level = np.full(shape, np.nan)  # the level each point was scored with
        self.last_ts = np.full(len(models), EMPTY, dtype=np.int64)  # newest seen, finite or not

    @property
    def rows(self) -> int:
        return len(self.last_ts)

    @classmethod
    def from_context(
        cls, models: Sequence[DetectorModel], contexts: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> BatchScorer:
        """Rows for ``models`` whose history so far is ``contexts``, one (ts, values) each,
        ascending; only the span a detector looks back over is kept."""
        if len(models) != len(contexts):
            raise ValueError(f"{len(models)} models but {len(contexts)} contexts")
        kept = [
            _recent(model, ts, values) for model, (ts, values) in zip(models, contexts, strict=True)
        ]
        scorer = cls(models, max((len(ts) for ts, _ in kept), default=1))
        width = scorer._ts.shape[1]
        for row, (ts, values) in enumerate(kept):
            if len(ts):
                scorer._ts[row, width - len(ts) :] = ts
                scorer._values[row, width - len(ts) :] = values
                scorer.last_ts[row] = ts[-1]
        scorer._prime()
        return scorer

    def _prime(self) -> None:
        """Deseasonalise the loaded context, compute z where later windows reach and the
        level from the newest point a level window old on (later drifts look it up)."""
        rows = np.arange(self.rows)
        valid = self._ts != EMPTY
        seasonal = self._params.seasonal(rows, np.where(valid, self._ts, 0))
        self._deseasonalised = np.where(valid, self._values - seasonal, np.nan)
        reach = np.maximum(ROLLING_WINDOW.value, self._params.sustained_ns)[:, None]
        needed = valid & (self._ts > self.last_ts[:, None] - reach)
        columns = np.arange(self._ts.shape[1])
        old = valid & (self._ts <= (self.last_ts - LEVEL_WINDOW.value)[:, None])
        newest_old = np.where(old, columns, -1).max(axis=1, initial=-1)
        needed |= valid & (columns >= newest_old[:, None])
        for column in np.flatnonzero(needed.any(axis=0)):
            members = np.flatnonzero(needed[:, column])
            result = self._score_column(members, int(column), with_score=False)
            self._z[members, column] = result["z"]
            self._level[members, column] = result["level"]

    def update(self, rows: np.ndarray, ts: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        """Expected value, band and score of each new point, in input order.

        ``rows``, ``ts`` and ``values`` are one point each (long format); a row's points
        must be newer than any it has seen, or nothing changes and ValueError says why. A
        NaN value is a gap: NaN expectation and score, as for a point with no context.
        """
        rows = np.asarray(rows, dtype=np.int64)
        ts = np.asarray(ts, dtype="datetime64[ns]").astype(np.int64)
        values = np.asarray(values, dtype=float)
        order, rank = self._checked(rows, ts)
        out = {name: np.full(len(rows), np.nan) for name in OUTPUT}
        for step in range(int(rank.max()) + 1 if len(rank) else 0):
            points = order[rank == step]
            self.last_ts[rows[points]] = ts[points]
            points = points[np.isfinite(values[points])]
            if len(points) == 0:
                continue
            self._append(rows[points], ts[points], values[points])
            result = self._score_column(rows[points], self._ts.shape[1] - 1, with_score=True)
            self._z[rows[points], -1] = result["z"]
            self._level[rows[points], -1] = result["level"]
            for name in OUTPUT:
                out[name][points] = result[name]
        frame = pd.DataFrame({"row": rows, "ts": ts.astype("datetime64[ns]"), "value": values})
        return frame.assign(**out)

    def _checked(self, rows: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ordered by (row, ts) and each one's rank within its row; ValueError
        before any change if a row's points do not move forward."""
        if not (rows.shape == ts.shape and rows.ndim == 1):
            raise ValueError("rows, ts and values must be 1-D and alike")
        if len(rows) and (rows.min() < 0 or rows.max() >= self.rows):
            raise ValueError(f"rows must be in [0, {self.rows})")
        order = np.lexsort((ts, rows))
        sorted_rows, sorted_ts = rows[order], ts[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = sorted_rows[1:] != sorted_rows[:-1]
        previous = np.where(first, self.last_ts[sorted_rows], np.roll(sorted_ts, 1))
        if (sorted_ts <= previous).any():
            bad = int(np.argmax(sorted_ts <= previous))
            raise ValueError(
                f"row {sorted_rows[bad]}: point at {pd.Timestamp(sorted_ts[bad])} is not newer "
                "than the one before it; detectors move forward only"
            )
        starts = np.flatnonzero(first)
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
        return order, rank

    def _append(self, rows: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        """Shift the rows one column left and put the new points last, widening the
        buffers first if a row's oldest point is still within its detector's reach."""
        oldest = self._ts[rows, 0]
        if ((oldest != EMPTY) & (oldest >= ts - self._params.span_ns[rows])).any():
            self._widen()
        for buffer, new in (
            (self._ts, ts),
            (self._values, values),
            (self._deseasonalised, values - self._params.seasonal(rows, ts)),
            (self._z, np.full(len(rows), np.nan)),
            (self._level, np.full(len(rows), np.nan)),
        ):
            buffer[rows, :-1] = buffer[rows, 1:]
            buffer[rows, -1] = new

    def _widen(self) -> None:
        width = self._ts.shape[1]
        self._ts = np.concatenate([np.full_like(self._ts, EMPTY), self._ts], axis=1)
        for name in ("_values", "_deseasonalised", "_z", "_level"):
            old = getattr(self, name)
            setattr(self, name, np.concatenate([np.full((self.rows, width), np.nan), old], axis=1))

    def _score_column(self, rows: np.ndarray, column: int, with_score: bool) -> dict:
        """The detector at ``column`` of ``rows``: expected value, band, z and score."""
        p = self._params
        ts = self._ts[rows]
        t = ts[:, column]
        in_level = ts[:, :column] >= (t - LEVEL_WINDOW.value)[:, None]
        level = _masked_median(self._deseasonalised[rows, :column], in_level, 1)
        seasonal = p.seasonal(rows, t)
        expected = seasonal + level
        scale = p.hourly_scale[rows, (t // NS_PER_HOUR) % 24]
        value = self._values[rows, column]
        z = residual_z(value, expected, seasonal + p.level[rows], scale)
        result = {"z": z, "level": level}
        if not with_score:
            return result
        recent_z = self._z[rows, : column + 1].copy()
        recent_z[:, column] = z
        past = ts[:, : column + 1]
        sustained = _masked_median(recent_z, past > (t - p.sustained_ns[rows])[:, None], 3)
        log_odds = np.fmax(
            _z_log_odds(z, p.z_centre[rows]),
            _z_log_odds(sustained, p.sustained_centre[rows]),
        )
        log_odds = np.fmax(log_odds, self._motion_log_odds(rows, column, past, t))
        log_odds = np.fmax(log_odds, self._forest_log_odds(rows, recent_z, past, t))
        log_odds = np.fmax(log_odds, self._novelty(rows, column, in_level))
        earlier = self._level_before(rows, column)
        drift = drift_z(level, earlier, value - seasonal, p.level[rows], scale)
        log_odds = np.fmax(log_odds, _z_log_odds(drift, p.drift_centre[rows]))
        score = to_score(log_odds)
        score[~np.isfinite(z)] = np.nan
        result.update(
            expected=expected,
            lower=expected - BAND_K * scale,
            upper=expected + BAND_K * scale,
            score=score,
        )
        return result

    def _motion_log_odds(
        self, rows: np.ndarray, column: int, past: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        """Each row's jitter and stillness log-odds, the larger: the median move of the
        deseasonalised value between neighbouring points of the jitter window in units of
        the later point's scale, and the share of moves repeating the raw value, a move
        counted where the gap is no longer than the window."""
        p = self._params
        if column < 1:
            return np.full(len(rows), np.nan)
        window = p.jitter_ns[rows][:, None]
        counted = (past[:, 1:] > t[:, None] - window) & (past[:, 1:] - past[:, :-1] <= window)
        first = int(np.argmax(counted.any(axis=0))) if counted.any() else column - 1
        counted, later = counted[:, first:], past[:, first + 1 :]
        values = self._deseasonalised[rows, first : column + 1]
        hours = np.where(later == EMPTY, 0, later) // NS_PER_HOUR % 24
        change = np.abs(np.diff(values, axis=1)) / p.hourly_scale[rows[:, None], hours]
        median = _masked_median(change, counted, JITTER_STEPS)
        raw = self._values[rows, first : column + 1]
        counted &= ~np.isnan(raw[:, 1:]) & ~np.isnan(raw[:, :-1])
        moves = np.count_nonzero(counted, axis=1)
        repeated = np.count_nonzero(counted & (raw[:, 1:] == raw[:, :-1]), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(moves >= JITTER_STEPS, repeated / moves, np.nan)
        still = still_log_odds(share, p.repeat_share[rows])
        return np.fmax(_z_log_odds(median, p.jitter_centre[rows]), still)

    def _level_before(self, rows: np.ndarray, column: int) -> np.ndarray:
        """The level of each row's newest point a level window older than ``column``'s."""
        ts = self._ts[rows, :column]
        cutoff = self._ts[rows, column] - LEVEL_WINDOW.value
        old = (ts != EMPTY) & (ts <= cutoff[:, None])
        newest = np.where(old, np.arange(column), -1).max(axis=1, initial=-1)
        found = self._level[rows, np.maximum(newest, 0)]
        return np.where(newest >= 0, found, np.nan)

    def _novelty(self, rows: np.ndarray, column: int, in_level: np.ndarray) -> np.ndarray:
        """Novelty log-odds of each row's point at ``column`` against its training range
        widened by the values of the level window before it."""
        p = self._params
        recent = self._values[rows, :column]
        seen = in_level & ~np.isnan(recent)
        with np.errstate(invalid="ignore"):
            low = np.where(seen, recent, np.inf).min(axis=1, initial=np.inf)
            high = np.where(seen, recent, -np.inf).max(axis=1, initial=-np.inf)
        low = np.fmin(np.where(np.isfinite(low), low, np.nan), p.range_low[rows])
        high = np.fmax(np.where(np.isfinite(high), high, np.nan), p.range_high[rows])
        return novelty_log_odds(self._values[rows, column], low, high, p.range_unit[rows])

    def _forest_log_odds(
        self, rows: np.ndarray, recent_z: np.ndarray, past: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        """Each row's calibrated forest log-odds on the features of its newest point; one
        forest call for all rows that share a forest."""
        p = self._params
        out = np.full(len(rows), np.nan)
        forest = p.forest[rows]
        if not (forest >= 0).any():
            return out
        z = recent_z[:, -1]
        change = np.nan_to_num(z - recent_z[:, -2], nan=0.0) if recent_z.shape[1] > 1 else 0 * z
        mean, std = _masked_mean_std(recent_z, past > (t - ROLLING_WINDOW.value)[:, None])
        features = np.nan_to_num(
            np.column_stack([z, change, mean, np.nan_to_num(std, nan=0.0)]),
            nan=0.0, posinf=1e6, neginf=-1e6,
        )  # fmt: skip
        for index in np.unique(forest[forest >= 0]):
            members = np.flatnonzero(forest == index)
            raw = -p.forests[index].score_samples(features[members])
            chosen = rows[members]
            out[members] = (raw - p.forest_centre[chosen]) / p.forest_width[chosen]
        return out


def _recent(
    model: DetectorModel, ts: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A context's finite points within the detector's span of its newest one."""
    ts = np.asarray(ts, dtype="datetime64[ns]").astype(np.int64)
    values = np.asarray(values, dtype=float)
    if ts.shape != values.shape or ts.ndim != 1:
        raise ValueError(f"ts and values must be 1-D and alike, got {ts.shape} and {values.shape}")
    finite = np.isfinite(values)
    ts, values = ts[finite], values[finite]
    if len(ts) > 1 and (np.diff(ts) <= 0).any():
        raise ValueError("context timestamps must be strictly increasing")
    if len(ts) == 0:
        return ts, values
    keep = ts >= ts[-1] - context_span(model.step_seconds).value
    return ts[keep], values[keep]
