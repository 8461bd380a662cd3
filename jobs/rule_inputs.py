"""Reading what a set of rules needs from the store, once, for all of them.

Each series is read as far back as the longest range (or lookback, or offset) any rule's
selector reads it with, and only series some selector matches are read at all; the
detector's outputs are read only for series that score and band rules select. Samples
come out of DuckDB already in (series, time) order, which is the layout the evaluator's
lookups use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.conditions import DETECTOR_COLUMNS, RuleInputs, needs_detector, rule_selectors
from analytics.promql import Data, SampleSet, Semantics
from analytics.promql.evaluate import select_rows
from analytics.rules import Rule
from vigil.clock import as_ns
from vigil.store import Store


def catalog(store: Store) -> pd.DataFrame:
    """Every series with its labels as dicts, the frame rule selectors match against."""
    frame = store.df(
        "SELECT series_id, series_key, metric, labels, service FROM series ORDER BY series_id"
    )
    frame["labels"] = [json.loads(text) for text in frame["labels"]]
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
    for rule in rules:
        for selector, back_ms in rule_selectors(rule):
            mask = select_rows(probe, selector.metric, selector.matchers)
            reach[mask] = np.maximum(reach[mask], back_ms)
        if needs_detector(rule):
            scored |= select_rows(probe, rule.metric, rule.matchers)
    samples = _read(store, series, reach, at_ms, ["value"])["value"]
    detector = {}
    if scored.any():
        lookback = np.where(scored, probe.semantics.lookback_ms, 0)
        detector = _read(store, series, lookback, at_ms, list(DETECTOR_COLUMNS), table="scores")
    data = Data(series, samples, at_ms, probe.semantics, probe.select_cache)
    return RuleInputs(data, detector)


def _read(
    store: Store, series: pd.DataFrame, reach_ms: np.ndarray, at_ms: np.ndarray,
    columns: list[str], table: str = "samples",
) -> dict[str, SampleSet]:  # fmt: skip
    """Each wanted row's samples in [first time - its reach, last time], per column."""
    rows = np.flatnonzero(reach_ms > 0)
    if not len(rows) or not len(at_ms):
        return {c: SampleSet.empty(len(series)) for c in columns}
    first = pd.Timestamp(int(at_ms[0]), unit="ms")
    wanted = pd.DataFrame({
        "series_id": series["series_id"].to_numpy()[rows], "row": rows,
        "start": (first - pd.to_timedelta(reach_ms[rows], unit="ms")).astype("datetime64[us]"),
    })  # fmt: skip
    end = pd.Timestamp(int(at_ms[-1]), unit="ms").to_pydatetime()
    picked = ", ".join(f"s.{c}" for c in columns)
    cur = store.cursor
    cur.register("wanted_rows", wanted)
    try:
        found = cur.execute(
            f"""
            SELECT w.row, epoch_ms(s.ts) AS ts, {picked}
            FROM {table} s JOIN wanted_rows w USING (series_id)
            WHERE s.ts >= ? AND s.ts <= ? AND s.ts >= w.start
            ORDER BY w.row, s.ts
            """,
            [wanted["start"].min().to_pydatetime(), end],
        ).fetchnumpy()
    finally:
        cur.unregister("wanted_rows")
    row = np.asarray(found["row"], dtype=np.int64)
    ts = np.asarray(found["ts"], dtype=np.int64)
    return {
        c: SampleSet.from_arrays(row, ts, np.ma.filled(np.ma.asarray(found[c], dtype=float),
                                                       np.nan), len(series))
        for c in columns
    }  # fmt: skip
