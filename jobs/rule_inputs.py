"""Reading what a set of rules needs from the store, once, for all of them.

Each series is read as far back as the longest range (or lookback, or offset) any rule's
selector reads it with, and only series some selector matches are read at all; the
detector's outputs are read only for series that score and band rules select. Samples
come out of DuckDB already in (series, time) order, which is the layout the evaluator's
lookups use.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.conditions import DETECTOR_COLUMNS, RuleInputs, detector_columns, rule_selectors
from analytics.promql import Data, SampleSet, Semantics
from analytics.promql.evaluate import select_rows
from analytics.rules import Rule
from vigil.clock import as_ns
from vigil.store import Store

_CATALOGS: weakref.WeakKeyDictionary[Store, tuple[tuple, pd.DataFrame]] = (
    weakref.WeakKeyDictionary())  # fmt: skip


def catalog(store: Store) -> pd.DataFrame:
    """Every series with its labels as dicts, the frame rule selectors match against.

    A series never changes its labels, so the frame is kept per store until series come
    or go (its count and highest id change); callers must not modify it.
    """
    version = store.cursor.execute("SELECT count(*), max(series_id) FROM series").fetchall()[0]
    kept = _CATALOGS.get(store)
    if kept is not None and kept[0] == version:
        return kept[1]
    frame = store.df(
        "SELECT series_id, series_key, metric, labels, service FROM series ORDER BY series_id"
    )
    frame["labels"] = [json.loads(text) for text in frame["labels"]]
    _CATALOGS[store] = (version, frame)
    return frame


def grid_ms(grid: np.ndarray) -> np.ndarray:
    return as_ns(grid).view(np.int64) // 1_000_000


def load_rule_inputs(
    store: Store,
    series: pd.DataFrame,
    rules: Sequence[Rule],
    grid: np.ndarray,
    semantics: Semantics | None = None,
) -> RuleInputs:
    """Samples (and detector outputs) of every series ``rules`` select, over ``grid``."""
    at_ms = grid_ms(grid)
    probe = Data(series, SampleSet.empty(len(series)), at_ms, semantics or Semantics())
    reach = np.zeros(len(series), dtype=np.int64)
    scored = np.zeros(len(series), dtype=bool)
    outputs: set[str] = set()
    for rule in rules:
        for selector, back_ms in rule_selectors(rule):
            mask = select_rows(probe, selector.metric, selector.matchers)
            reach[mask] = np.maximum(reach[mask], back_ms)
        if detector_columns(rule):
            scored |= select_rows(probe, rule.metric, rule.matchers)
            outputs.update(detector_columns(rule))
    samples = _read(store, series, reach, at_ms, ["value"])["value"]
    detector = {}
    if scored.any():
        lookback = np.where(scored, probe.semantics.lookback_ms, 0)
        wanted = [c for c in DETECTOR_COLUMNS if c in outputs]
        detector = _read(store, series, lookback, at_ms, wanted, table="scores")
    data = Data(series, samples, at_ms, probe.semantics, probe.select_cache)
    return RuleInputs(data, detector)


def _read(
    store: Store, series: pd.DataFrame, reach_ms: np.ndarray, at_ms: np.ndarray,
    columns: list[str], table: str = "samples",
) -> dict[str, SampleSet]:  # fmt: skip
    """Each wanted row's samples in [first time - its reach, last time], per column.

    DuckDB filters by series and time; mapping series to rows, the per-row start and the
    (row, time) order are left to numpy, which does them faster than a join and a sort.
    """
    rows = np.flatnonzero(reach_ms > 0)
    if not len(rows) or not len(at_ms):
        return {c: SampleSet.empty(len(series)) for c in columns}
    ids = series["series_id"].to_numpy(dtype=np.int64)
    start_ms = int(at_ms[0]) - reach_ms
    earliest = pd.Timestamp(int(start_ms[rows].min()), unit="ms").to_pydatetime()
    end = pd.Timestamp(int(at_ms[-1]), unit="ms").to_pydatetime()
    found = store.cursor.sql(  # through Arrow: several times faster than fetchnumpy here
        f"SELECT series_id, ts, {', '.join(columns)} FROM {table} "
        "WHERE ts >= ? AND ts <= ? AND series_id IN (SELECT unnest(?::BIGINT[]))",
        params=[earliest, end, ids[rows].tolist()],
    ).to_arrow_table()
    row_of_id = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    row_of_id[ids] = np.arange(len(ids))
    row = row_of_id[found.column("series_id").to_numpy()]
    ts = found.column("ts").to_numpy().astype("datetime64[ms]").view(np.int64)
    inside = None
    if len(np.unique(reach_ms[rows])) > 1:  # rows read from different starts
        inside = ts >= start_ms[row]
        row, ts = row[inside], ts[inside]
    values = {c: found.column(c).to_numpy().astype(float, copy=False) for c in columns}
    if inside is not None:
        values = {c: v[inside] for c, v in values.items()}
    return SampleSet.from_columns(row, ts, values, len(series))
