"""Samples of many series in one sorted layout, and the lookups PromQL needs from them.

Row ``r`` (a catalog row) owns ``ts[starts[r]:starts[r + 1]]``, ascending milliseconds,
with its values beside them. Every lookup takes many rows and many evaluation times at
once and answers with (rows × times) index matrices, so no lookup loops over series in
Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

MS = 1_000_000  # nanoseconds in a millisecond
LONG_AXIS = 512  # evaluation times from which lookups search series by series


@dataclass(frozen=True)
class SampleSet:
    """Samples of ``n_rows`` series; NaN values are not samples (they are dropped)."""

    ts: np.ndarray  # int64 milliseconds, sorted within each row
    values: np.ndarray  # float64
    starts: np.ndarray  # int64, n_rows + 1 offsets
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_arrays(
        cls, rows: np.ndarray, ts_ms: np.ndarray, values: np.ndarray, n_rows: int
    ) -> SampleSet:
        """Samples given as parallel arrays in any order (row indices into the catalog)."""
        return cls.from_columns(rows, ts_ms, {"value": values}, n_rows)["value"]

    @classmethod
    def from_columns(
        cls, rows: np.ndarray, ts_ms: np.ndarray, columns: dict[str, np.ndarray], n_rows: int
    ) -> dict[str, SampleSet]:
        """One sample set per column of values that share their rows and times, put in
        order once for all of them."""
        rows = np.asarray(rows, dtype=np.int64)
        ts_ms = np.asarray(ts_ms, dtype=np.int64)
        order = _row_time_order(rows, ts_ms)
        if order is not None:
            rows, ts_ms = rows[order], ts_ms[order]
        out = {}
        for name, values in columns.items():
            values = np.asarray(values, dtype=float)
            out[name] = cls._sorted(rows, ts_ms, values if order is None else values[order],
                                    n_rows)  # fmt: skip
        return out

    @classmethod
    def _sorted(
        cls, rows: np.ndarray, ts_ms: np.ndarray, values: np.ndarray, n_rows: int
    ) -> SampleSet:
        keep = ~np.isnan(values)
        if not keep.all():
            rows, ts_ms, values = rows[keep], ts_ms[keep], values[keep]
        starts = np.searchsorted(rows, np.arange(n_rows + 1), side="left").astype(np.int64)
        return cls(ts_ms, values, starts)

    @classmethod
    def empty(cls, n_rows: int) -> SampleSet:
        none = np.array([], dtype=np.int64)
        return cls(none, np.array([], dtype=float), np.zeros(n_rows + 1, dtype=np.int64))

    @property
    def n_rows(self) -> int:
        return len(self.starts) - 1

    @cached_property
    def row_of(self) -> np.ndarray:
        """The row of every sample."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.starts))

    def _last_at_or_before(self, rows: np.ndarray, at_ms: np.ndarray) -> np.ndarray:
        """For each (row, time): the index of the row's last sample at or before the time,
        or the index just before the row's first sample when there is none.

        Every sample is placed at the first time at or after it, and a running maximum
        along time carries it forward until the next one: linear in samples and cells,
        with no search per cell. Over a long time axis (a backtest) one search per series
        along the whole axis is faster still: it stays in cache.
        """
        rows = np.asarray(rows, dtype=np.int64)
        at_ms = np.asarray(at_ms, dtype=np.int64)
        if len(at_ms) >= LONG_AXIS:
            out = np.empty((len(rows), len(at_ms)), dtype=np.int64)
            for i, row in enumerate(rows):  # per series, vectorised along time
                a, b = self.starts[row], self.starts[row + 1]
                out[i] = np.searchsorted(self.ts[a:b], at_ms, side="right") - 1 + a
            return out
        first = self.starts[rows]
        position, index = self._samples_of(rows)
        times = self.ts[index]
        column = _first_time_at_or_after(at_ms, times)
        last = np.ones(len(times), dtype=bool)  # only the latest sample of each cell counts
        last[:-1] = (position[1:] != position[:-1]) | (column[1:] != column[:-1])
        keep = np.flatnonzero(last & (column < len(at_ms)))
        small = len(self.ts) < np.iinfo(np.int32).max  # half the memory to sweep
        cells = np.full((len(rows), len(at_ms)), -1, dtype=np.int32 if small else np.int64)
        flat = position[keep] * len(at_ms) + column[keep]
        cells.reshape(-1)[flat] = _take(index, keep)
        np.maximum.accumulate(cells, axis=1, out=cells)
        return np.where(cells >= 0, cells, (first - 1)[:, None]).astype(np.int64, copy=False)

    def _samples_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | slice]:
        """(position in ``rows``, sample indices) of every sample of the given rows; the
        indices are a slice when the rows are a run."""
        first = self.starts[rows]
        counts = self.starts[rows + 1] - first
        if len(rows) and (np.diff(rows) == 1).all():  # a run of rows: one slice
            run = slice(int(first[0]), int(self.starts[rows[-1] + 1]))
            return self.row_of[run] - rows[0], run
        position = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return position, first[position] + offsets

    def latest(
        self, rows: np.ndarray, at_ms: np.ndarray, lookback_ms: int, left_closed: bool
    ) -> np.ndarray:
        """Index of the sample an instant selector sees at each time, or -1.

        That is the row's latest sample with ``at - lookback < ts <= at`` (``<=`` on the
        left with ``left_closed``, as Prometheus 2 counted a sample exactly the lookback
        old as current).
        """
        rows = np.asarray(rows, dtype=np.int64)
        idx = self._last_at_or_before(rows, at_ms)
        seen = idx >= self.starts[rows][:, None]
        oldest = (np.asarray(at_ms, dtype=np.int64) - lookback_ms)[None, :]
        kept = self.ts[np.where(seen, idx, 0)] if self.ts.size else np.zeros_like(idx)
        fresh = seen & ((kept >= oldest) if left_closed else (kept > oldest))
        return np.where(fresh, idx, -1)

    def values_at(self, index: np.ndarray) -> np.ndarray:
        """The values at indices :meth:`latest` found, NaN where it found none (-1)."""
        if not self.values.size:
            return np.full(np.shape(index), np.nan)
        return np.where(index >= 0, self.values[np.maximum(index, 0)], np.nan)

    def window(
        self, rows: np.ndarray, at_ms: np.ndarray, range_ms: int, left_closed: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi): each (row, time)'s samples in ``(at - range, at]`` are ``lo:hi``
        (``[at - range, at]`` with ``left_closed``, Prometheus 2's range selectors)."""
        rows = np.asarray(rows, dtype=np.int64)
        at_ms = np.asarray(at_ms, dtype=np.int64)
        hi = self._last_at_or_before(rows, at_ms) + 1
        edge = at_ms - range_ms - (1 if left_closed else 0)
        lo = self._last_at_or_before(rows, edge) + 1
        return lo, np.maximum(hi, lo)

    def _prefix(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Prefix sums of a per-sample quantity that restart at every row, and prefix
        counts of its non-finite entries (None when there are none), cached by name.

        Row ``r``'s sums start from a slot of their own just before its first sample, so
        sample ``k`` of row ``r`` is summed up to position ``k + r + 1``: a window's total
        is ``p[hi + r] - p[lo + r]`` and loses precision only to its own row's magnitude.
        Non-finite entries count as 0 there; :meth:`window_total` sums such windows alone.
        """
        if name not in self._cache:
            q = self._quantity(name)
            finite = np.isfinite(q)
            q = np.where(finite, q, 0.0)
            totals = np.zeros(self.n_rows)
            heads = self.starts[:-1]
            filled = heads < self.starts[1:]
            if filled.any():
                totals[filled] = np.add.reduceat(q, heads[filled])
            resets = -np.concatenate([[0.0], totals[:-1]])
            prefix = np.cumsum(np.insert(q, heads, resets))
            odd = np.concatenate([[0], np.cumsum(~finite)])
            self._cache[name] = (prefix, odd if odd[-1] else None)
        return self._cache[name]

    def window_total(
        self, name: str, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
        """The quantity summed over each window ``lo:hi`` of row ``rows[i]``. Quantities
        that relate a sample to the one before it are 0 on each row's first sample."""
        prefix, odd = self._prefix(name)
        shift = np.asarray(rows, dtype=np.int64)[:, None]
        out = prefix[hi + shift] - prefix[lo + shift]
        if odd is not None:
            q = self._quantity(name)
            for i, j in np.argwhere(odd[hi] - odd[lo] > 0):
                out[i, j] = q[lo[i, j] : hi[i, j]].sum()
        return out

    def _quantity(self, name: str) -> np.ndarray:
        """Per-sample quantities. Times and values are taken relative to the row's first
        sample (``dx``, ``dv``), which keeps prefix sums of squares small enough for
        variances and regressions to stay precise."""
        v = self.values
        previous = np.concatenate([[np.nan], v[:-1]])
        previous[self.starts[:-1][self.starts[:-1] < len(v)]] = np.nan  # rows start afresh
        first = np.repeat(self.starts[:-1], np.diff(self.starts))
        dx = (self.ts - self.ts[first]) / 1000.0 if len(v) else np.zeros(0)
        dv = v - v[first] if len(v) else np.zeros(0)
        with np.errstate(invalid="ignore"):
            quantities = {
                "value": lambda: v,
                "resets": lambda: (v < previous).astype(float),
                "reset_amount": lambda: np.where(v < previous, previous, 0.0),
                "changes": lambda: ((v != previous) & ~np.isnan(previous)).astype(float),
                "dx": lambda: dx,
                "dv": lambda: dv,
                "dx2": lambda: dx * dx,
                "dv2": lambda: dv * dv,
                "dxdv": lambda: dx * dv,
            }
            return quantities[name]()

    @cached_property
    def reset_positions(self) -> np.ndarray:
        """Indices of the samples lower than the sample before them in their row."""
        v = self.values
        previous = np.concatenate([[np.nan], v[:-1]])
        previous[self.starts[:-1][self.starts[:-1] < len(v)]] = np.nan
        with np.errstate(invalid="ignore"):
            return np.flatnonzero(v < previous)

    def row_origin(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(time in ms, value) of each row's first sample, which ``dx``/``dv`` count from
        (0 and 0 for a row without samples)."""
        rows = np.asarray(rows, dtype=np.int64)
        first = self.starts[rows]
        has = first < self.starts[rows + 1]
        safe = np.where(has, first, 0)
        if not len(self.ts):
            return np.zeros(len(rows), dtype=np.int64), np.zeros(len(rows))
        return np.where(has, self.ts[safe], 0), np.where(has, self.values[safe], 0.0)


def _first_time_at_or_after(at_ms: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """For each sample time, the index of the first evaluation time at or after it
    (``len(at_ms)`` past the end): arithmetic on an evenly spaced grid, a search else."""
    if len(at_ms) > 2:
        step = int(at_ms[1] - at_ms[0])
        if step > 0 and (np.diff(at_ms) == step).all():
            steps = np.ceil((ts - at_ms[0]) / step)  # exact: milliseconds fit a float
            return np.clip(steps, 0, len(at_ms)).astype(np.int64)
    return np.searchsorted(at_ms, ts, side="left")


def _take(index: np.ndarray | slice, picked: np.ndarray) -> np.ndarray:
    """``index[picked]`` for an index array or a slice of consecutive indices."""
    if isinstance(index, slice):
        return picked + index.start
    return index[picked]


def _row_time_order(rows: np.ndarray, ts_ms: np.ndarray) -> np.ndarray | None:
    """The permutation that puts samples in (row, time) order, None if they are in it.

    One stable sort on a combined key: fast on data that is in order in runs, which is how
    the store hands samples out.
    """
    if not len(ts_ms):
        return None
    low = int(ts_ms.min())
    key = rows * (int(ts_ms.max()) - low + 1) + (ts_ms - low)
    if not (key[1:] < key[:-1]).any():
        return None
    return np.argsort(key, kind="stable")
