"""Backtest: what a rule, saved or still a draft, would have done over the stored history.

The same replay the evaluate job runs (instant values with Prometheus staleness, the
rule's condition, ``for`` and ``keep_firing_for``), over the last days, written nowhere:
it returns every episode that fired and how often per day and per series, so an edit can
be judged before it is saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analytics.conditions import (
    RuleInputs,
    detector_columns,
    matched_series,
    rule_context,
    rule_selectors,
    rule_vector,
)
from analytics.lifecycle import episodes
from analytics.promql import Semantics
from analytics.rule_files import load_rule_text
from analytics.rules import Rule, load_rules
from jobs.evaluate import evaluation_grid
from jobs.rule_inputs import catalog, load_rule_inputs
from vigil.store import Store

MAX_DAYS = 90


@dataclass(frozen=True)
class Backtest:
    rule: str
    series: int  # matched by the rule's selectors
    evaluations: int
    # Per alert instance: series_key names the element (``metric{labels}``), series_id
    # the series it comes from (NA for an aggregation over several).
    fired: pd.DataFrame  # series_id, series_key, active_at, fired_at, resolved_at, value
    per_day: pd.DataFrame  # day, episodes
    per_series: pd.DataFrame  # series_id, series_key, episodes, firing_seconds
    # The line the firings of the elements that fired most are drawn on, at every
    # evaluation: what the rule compares with its threshold (a PromQL comparison's left
    # side, a series' value or score), and that threshold where there is one.
    curves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))
    threshold: float | None = None


CURVE_COLUMNS = ["series_key", "ts", "value"]


def backtest(
    store: Store, rule: Rule, start: pd.Timestamp, end: pd.Timestamp, interval_s: int,
    semantics: Semantics | None = None, *, curves: int = 0,
) -> Backtest:  # fmt: skip
    """Every episode ``rule`` fires over [start, end] on the stored samples and scores,
    and the values of the ``curves`` elements that fired most."""
    if end <= start:
        raise ValueError("the backtest must end after it starts")
    if end - start > pd.Timedelta(days=MAX_DAYS):
        raise ValueError(f"a backtest covers at most {MAX_DAYS} days")
    series = catalog(store)
    grid = evaluation_grid(start, end, interval_s)
    if series.empty or len(grid) == 0:
        return _result(rule, 0, len(grid), series, pd.DataFrame(), end)
    inputs = _inputs(store, series, rule, grid, semantics)
    vector = rule_vector(rule, inputs)
    matched = matched_series(rule, inputs)
    if not len(vector):
        return _result(rule, matched, len(grid), series, pd.DataFrame(), end)
    found = episodes(grid, vector.present, vector.values, rule.for_seconds,
                     rule.keep_firing_for_seconds)  # fmt: skip
    found = found.loc[found["fired_at"].notna()].copy()
    found["source"] = vector.sources[found["series_idx"].to_numpy(int)]
    elements = found["series_idx"].to_numpy(int)
    keys = {i: _element_key(vector.labels[i]) for i in np.unique(elements)}
    found["element"] = [keys[i] for i in elements]
    result = _result(rule, matched, len(grid), series, found, end)
    if curves and len(elements):
        counts = pd.Series(elements).value_counts(sort=True)
        top = counts.index[:curves].to_numpy(int)
        lines, threshold = rule_context(rule, inputs, vector, top)
        frame = pd.DataFrame({
            "series_key": np.repeat([keys[int(i)] for i in top], len(grid)),
            "ts": np.tile(np.asarray(grid, dtype="datetime64[ns]"), len(top)),
            "value": lines.ravel(),
        })  # fmt: skip
        result = replace(result, curves=frame, threshold=threshold)
    return result


_LAST_INPUTS: dict[str, tuple] = {}
INPUTS_TTL_SECONDS = 60.0


def _inputs(store: Store, series: pd.DataFrame, rule: Rule, grid: np.ndarray,
            semantics: Semantics | None) -> RuleInputs:  # fmt: skip
    """The rule's inputs, kept for a minute: editing a rule and backtesting it again
    reads the same series over the same days, so only the first preview pays the read."""
    columns = detector_columns(rule)
    reads = (tuple(sorted(map(repr, rule_selectors(rule)))), columns,
             (rule.metric, rule.matchers) if columns else None)  # fmt: skip
    key = (id(store), len(series), reads, grid[0], grid[-1], len(grid), semantics)
    kept = _LAST_INPUTS.get("entry")
    if kept is not None and kept[0] == key and time.monotonic() - kept[1] < INPUTS_TTL_SECONDS:
        return kept[2]
    inputs = load_rule_inputs(store, series, [rule], grid, semantics)
    _LAST_INPUTS["entry"] = (key, time.monotonic(), inputs)
    return inputs


def _element_key(labels: dict[str, str]) -> str:
    """An element as people read it: ``metric{label="value", ...}``."""
    inside = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels.get('__name__', '')}{{{inside}}}"


def _result(
    rule: Rule, matched: int, evaluations: int, series: pd.DataFrame, found: pd.DataFrame,
    end: pd.Timestamp,
) -> Backtest:  # fmt: skip
    columns = ["series_id", "series_key", "active_at", "fired_at", "resolved_at", "value"]
    if found.empty:
        empty = pd.DataFrame(columns=columns)
        return Backtest(rule.name, matched, evaluations, empty,
                        pd.DataFrame(columns=["day", "episodes"]),
                        pd.DataFrame(columns=["series_id", "series_key", "episodes",
                                              "firing_seconds"]))  # fmt: skip
    source = found["source"].to_numpy(int)
    ids = series["series_id"].to_numpy()
    fired = pd.DataFrame(
        {
            "series_id": pd.array([ids[s] if s >= 0 else None for s in source], dtype="Int64"),
            "series_key": found["element"].to_numpy(dtype=object),
            "active_at": pd.to_datetime(found["active_at"]).to_numpy(),
            "fired_at": pd.to_datetime(found["fired_at"]).to_numpy(),
            "resolved_at": pd.to_datetime(found["resolved_at"]).to_numpy(),
            "value": found["value"].to_numpy(float),
        }
    ).sort_values(["fired_at", "series_key"], ignore_index=True)
    until = fired["resolved_at"].fillna(end)
    fired_for = (until - fired["fired_at"]).dt.total_seconds()
    per_day = (
        fired.groupby(fired["fired_at"].dt.floor("D")).size().rename("episodes")
        .rename_axis("day").reset_index()
    )  # fmt: skip
    per_series = (
        fired.assign(firing_seconds=fired_for)
        .groupby(["series_key"], as_index=False, dropna=False)
        .agg(series_id=("series_id", "first"), episodes=("fired_at", "size"),
             firing_seconds=("firing_seconds", "sum"))
        .sort_values(["episodes", "firing_seconds"], ascending=False, ignore_index=True)
    )[["series_id", "series_key", "episodes", "firing_seconds"]]  # fmt: skip
    return Backtest(rule.name, matched, evaluations, fired, per_day, per_series)


def backtest_file(
    store: Store, text: str, rule_name: str | None, days: float, interval_s: int,
    now: pd.Timestamp,
) -> list[dict[str, object]]:  # fmt: skip
    """Backtest the rules of a rule file (or the one named), as plain records: what the
    CLI prints and the engine's HTTP port serves. RuleValidationError for a bad file."""
    rules = load_rules(text)
    if rule_name is not None:
        rules = [r for r in rules if r.name == rule_name]
        if not rules:
            raise ValueError(f"the file has no rule {rule_name!r}")
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"days must be between 0 and {MAX_DAYS}")
    start = now - pd.Timedelta(days=days)
    out = []
    for rule in rules:
        result = backtest(store, rule, start, now, interval_s)
        out.append({
            "rule": result.rule, "series": result.series, "evaluations": result.evaluations,
            "episodes": len(result.fired),
            "per_day": {str(d.date()): int(n) for d, n in result.per_day.itertuples(index=False)},
            "per_series": [
                {"series": k, "episodes": int(n), "firing_seconds": float(s)}
                for _, k, n, s in result.per_series.itertuples(index=False)
            ],
            "fired": [
                {"series": row.series_key, "fired_at": _iso(row.fired_at),
                 "resolved_at": _iso(row.resolved_at), "value": float(row.value)}
                for row in result.fired.itertuples(index=False)
            ],
        })  # fmt: skip
    return out


def backtest_draft(
    store: Store, text: str, group: str, days: float, interval_s: int, now: pd.Timestamp,
    curves: int = 3,
) -> tuple[Rule, Backtest]:  # fmt: skip
    """Backtest one rule as the editor holds it (YAML, not saved): the rule and what it
    would have done over the last ``days``. RuleValidationError, with the line in
    ``text``, when it is not a valid rule."""
    rule = load_rule_text(text, group).rule()
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"days must be between 0 and {MAX_DAYS}")
    end = now.floor(f"{interval_s}s")  # previews within one interval read the same data
    return rule, backtest(store, rule, end - pd.Timedelta(days=days), end, interval_s,
                          curves=curves)  # fmt: skip


def _iso(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
