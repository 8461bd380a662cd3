"""Alert lifecycle: alert episodes from the conditions at each evaluation time.

Episodes follow Prometheus' alerting rule evaluation (``rules/alerting.go``, ``Eval``)
exactly, so an alert replayed by Vigil opens, fires and resolves at the same evaluation a
Prometheus server would have:

- condition true with no open alert: a new alert, ``pending``, ``active_at = t``;
- pending and ``t - active_at >= for``: ``firing`` at that evaluation (``for: 0`` fires at
  once);
- condition false while pending: the alert is dropped, even with ``keep_firing_for``;
- condition false while firing: it keeps firing while ``t - keep_firing_since <
  keep_firing_for``, where ``keep_firing_since`` is the first evaluation at which the
  condition was false (Prometheus' ``KeepFiringSince``); otherwise it resolves at ``t``.
  The condition turning true again while it keeps firing continues the same alert.

Runs of true conditions are found with numpy for all series at once; a firing alert's runs
are merged when the gap between them is bridged by ``keep_firing_for``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

_NAT = np.iinfo(np.int64).min
_NS = 1_000_000_000
EPISODE_COLUMNS = ["series_idx", "state", "active_at", "fired_at", "resolved_at",
                   "last_eval_at", "value"]  # fmt: skip


def _ns(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ns]").view(np.int64)


def _runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first column, last column) of every run of True, ordered by row then column."""
    rows, cols = active.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = active
    edges = np.diff(padded, axis=1)
    run_rows, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)
    return run_rows, starts, stops - 1


def _resolve_columns(at: np.ndarray, ends: np.ndarray, keep_ns: int) -> np.ndarray:
    """Where a firing alert whose condition last held at ``ends`` resolves (len(at) = never)."""
    first_false = ends + 1
    if keep_ns <= 0:
        return first_false
    out = np.full(ends.shape, len(at))
    inside = first_false < len(at)
    out[inside] = np.searchsorted(at, at[first_false[inside]] + keep_ns, side="left")
    return out


def _joins_previous(
    rows: np.ndarray, starts: np.ndarray, fires: np.ndarray, resolve: np.ndarray
) -> np.ndarray:
    """Whether each run continues the alert of the run before it.

    It does when the previous run's alert is firing by its end and ``keep_firing_for``
    bridges the gap. Within a chain of bridgeable runs, runs before the first one that fires
    on its own are separate pending alerts; from that one on, all are one firing alert.
    """
    bridged = np.zeros(len(rows), dtype=bool)
    bridged[1:] = (rows[1:] == rows[:-1]) & (starts[1:] <= resolve[:-1])
    chain = np.cumsum(~bridged) - 1
    fired_so_far = np.cumsum(fires)
    chain_first = np.flatnonzero(~bridged)
    before_chain = fired_so_far[chain_first] - fires[chain_first]
    firing_at_end = fired_so_far - before_chain[chain] > 0
    joins = np.zeros(len(rows), dtype=bool)
    joins[1:] = bridged[1:] & firing_at_end[:-1]
    return joins


def _empty_episodes() -> pd.DataFrame:
    times = np.array([], dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "series_idx": np.array([], dtype=np.int64),
            "state": pd.Series([], dtype="str"),
            **{c: times for c in ("active_at", "fired_at", "resolved_at", "last_eval_at")},
            "value": np.array([], dtype=float),
        }
    )


class _Runs(NamedTuple):
    """Runs of a true condition, with when each would fire and resolve on its own."""

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    fire_cols: np.ndarray  # first column at which for has elapsed (may be past the run)
    resolve: np.ndarray  # column at which a firing alert ending with this run resolves

    @property
    def fires(self) -> np.ndarray:
        return self.fire_cols <= self.ends


def episodes(
    grid: np.ndarray,
    active: np.ndarray,
    values: np.ndarray,
    for_seconds: int,
    keep_firing_for_seconds: int,
) -> pd.DataFrame:
    """Every alert episode of every series (rows of ``active``) over the evaluation grid.

    Columns: ``series_idx``, ``state`` (pending, firing, resolved, or inactive for a pending
    alert that was dropped), ``active_at``, ``fired_at``, ``resolved_at``, ``last_eval_at``
    and ``value`` (at the last evaluation where the condition held). Alerts still open at
    the last grid time have no ``resolved_at`` and ``last_eval_at`` = the last grid time.
    """
    at = _ns(grid)
    active = np.atleast_2d(np.asarray(active, dtype=bool))
    values = np.atleast_2d(np.asarray(values, dtype=float))
    if active.size == 0:
        return _empty_episodes()
    if active.shape != values.shape or active.shape[1] != len(at):
        raise ValueError(f"active {active.shape} and values {values.shape} must be (n, {len(at)})")
    rows, starts, ends = _runs(active)
    if rows.size == 0:
        return _empty_episodes()
    runs = _Runs(
        rows,
        starts,
        ends,
        np.searchsorted(at, at[starts] + for_seconds * _NS, side="left"),
        _resolve_columns(at, ends, keep_firing_for_seconds * _NS),
    )
    joins = _joins_previous(rows, starts, runs.fires, runs.resolve)
    first = np.flatnonzero(~joins)
    last = np.append(first[1:] - 1, len(rows) - 1)
    return _episode_frame(at, values, runs, first, last)


def _episode_frame(
    at: np.ndarray, values: np.ndarray, runs: _Runs, first: np.ndarray, last: np.ndarray
) -> pd.DataFrame:
    """One row per episode, from its first run (start, firing) and last run (end, value)."""
    n = len(at)
    fired = runs.fires[first]
    end = runs.ends[last]
    resolved_col = np.where(fired, runs.resolve[last], n)
    open_ = np.where(fired, resolved_col >= n, end == n - 1)
    closed_at = at[np.minimum(resolved_col, n - 1)]
    state = np.where(
        fired, np.where(open_, "firing", "resolved"), np.where(open_, "pending", "inactive")
    )
    last_eval = np.where(open_, at[-1], np.where(fired, closed_at, at[end]))
    fired_at = np.where(fired, at[np.minimum(runs.fire_cols[first], n - 1)], _NAT)
    return pd.DataFrame(
        {
            "series_idx": runs.rows[first].astype(np.int64),
            "state": pd.Series(state, dtype="str"),
            "active_at": at[runs.starts[first]].view("datetime64[ns]"),
            "fired_at": fired_at.view("datetime64[ns]"),
            "resolved_at": np.where(fired & ~open_, closed_at, _NAT).view("datetime64[ns]"),
            "last_eval_at": last_eval.view("datetime64[ns]"),
            "value": values[runs.rows[last], end],
        }
    )
