"""Samples of many series in one sorted layout, and the lookups PromQL needs from them.

Row ``r`` (a catalog row) owns ``ts[starts[r]:starts[r + 1]]``, ascending milliseconds,
with its values beside them. Every lookup takes many rows and many evaluation times at
once and answers with (rows × times) index matrices, found with one ``searchsorted`` over
a combined key (row, time), so no lookup loops over series in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

MS = 1_000_000  # nanoseconds in a millisecond


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
        rows = np.asarray(rows, dtype=np.int64)
        ts_ms = np.asarray(ts_ms, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        keep = ~np.isnan(values)
        if not keep.all():
            rows, ts_ms, values = rows[keep], ts_ms[keep], values[keep]
        later = (rows[1:] > rows[:-1]) | ((rows[1:] == rows[:-1]) & (ts_ms[1:] >= ts_ms[:-1]))
        if not later.all():  # already in (row, time) order, as the store hands them out
            order = np.lexsort((ts_ms, rows))
            rows, ts_ms, values = rows[order], ts_ms[order], values[order]
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

    @cached_property
    def _base(self) -> tuple[int, int]:
        """(smallest time, stride): keys are ``row * stride + (ts - smallest)``."""
        if self.ts.size == 0:
            return 0, 2
        low = int(self.ts.min())
        return low, int(self.ts.max()) - low + 2

    @cached_property
    def _keys(self) -> np.ndarray:
        low, stride = self._base
        return self.row_of * stride + (self.ts - low)

    def _search(self, rows: np.ndarray, at_ms: np.ndarray, side: str) -> np.ndarray:
        """For each (row, time): the number of samples before it in the layout whose key
        is < (``left``) or <= (``right``) the key of (row, time), clipped to the row."""
        low, stride = self._base
        offset = np.clip(np.asarray(at_ms, dtype=np.int64) - low, -1, stride - 1)
        query = np.asarray(rows, dtype=np.int64)[:, None] * stride + offset[None, :]
        return np.searchsorted(self._keys, query, side=side)

    def latest(
        self, rows: np.ndarray, at_ms: np.ndarray, lookback_ms: int, left_closed: bool
    ) -> np.ndarray:
        """Index of the sample an instant selector sees at each time, or -1.

        That is the row's latest sample with ``at - lookback < ts <= at`` (``<=`` on the
        left with ``left_closed``, as Prometheus 2 counted a sample exactly the lookback
        old as current).
        """
        rows = np.asarray(rows, dtype=np.int64)
        idx = self._search(rows, at_ms, "right") - 1
        first = self.starts[rows][:, None]
        seen = idx >= first
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
        hi = self._search(rows, at_ms, "right")
        lo = self._search(rows, at_ms - range_ms, "left" if left_closed else "right")
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
