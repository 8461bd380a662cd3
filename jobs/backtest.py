"""Backtest: what a rule, saved or still a draft, would have done over the stored history.

The same replay the evaluate job runs (instant values with Prometheus staleness, the
rule's condition, ``for`` and ``keep_firing_for``), over the last days, written nowhere:
it returns every episode that fired and how often per day and per series, so an edit can
be judged before it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.conditions import rule_condition
from analytics.lifecycle import episodes
from analytics.rules import Rule, load_rules, select_series
from jobs.evaluate import catalog, evaluation_grid, instant_matrix
from vigil.store import Store

MAX_DAYS = 90


@dataclass(frozen=True)
class Backtest:
    rule: str
    series: int  # matched by the rule's selector
    evaluations: int
    fired: pd.DataFrame  # series_id, series_key, active_at, fired_at, resolved_at, value
    per_day: pd.DataFrame  # day, episodes
    per_series: pd.DataFrame  # series_id, series_key, episodes, firing_seconds


def backtest(
    store: Store, rule: Rule, start: pd.Timestamp, end: pd.Timestamp, interval_s: int
) -> Backtest:
    """Every episode ``rule`` fires over [start, end] on the stored samples and scores."""
    if end <= start:
        raise ValueError("the backtest must end after it starts")
    if end - start > pd.Timedelta(days=MAX_DAYS):
        raise ValueError(f"a backtest covers at most {MAX_DAYS} days")
    series = catalog(store)
    selected = np.flatnonzero(select_series(rule, series)) if not series.empty else []
    grid = evaluation_grid(start, end, interval_s)
    if len(selected) == 0 or len(grid) == 0:
        return _result(rule, len(selected), len(grid), series, pd.DataFrame(), end)
    ids = series["series_id"].to_numpy()[selected]
    needs_scores = rule.kind in ("score", "band")
    matrix = instant_matrix(store, ids, grid, left_closed=False, with_scores=needs_scores)
    active, values = rule_condition(rule, matrix)
    found = episodes(grid, active, values, rule.for_seconds, rule.keep_firing_for_seconds)
    found = found.loc[found["fired_at"].notna()].copy()
    found["series_idx"] = selected[found["series_idx"].to_numpy(int)]
    return _result(rule, len(selected), len(grid), series, found, end)


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
    rows = series.iloc[found["series_idx"].to_numpy(int)]
    fired = pd.DataFrame(
        {
            "series_id": rows["series_id"].to_numpy(),
            "series_key": rows["series_key"].to_numpy(),
            "active_at": pd.to_datetime(found["active_at"]).to_numpy(),
            "fired_at": pd.to_datetime(found["fired_at"]).to_numpy(),
            "resolved_at": pd.to_datetime(found["resolved_at"]).to_numpy(),
            "value": found["value"].to_numpy(float),
        }
    ).sort_values(["fired_at", "series_id"], ignore_index=True)
    until = fired["resolved_at"].fillna(end)
    fired_for = (until - fired["fired_at"]).dt.total_seconds()
    per_day = (
        fired.groupby(fired["fired_at"].dt.floor("D")).size().rename("episodes")
        .rename_axis("day").reset_index()
    )  # fmt: skip
    per_series = (
        fired.assign(firing_seconds=fired_for)
        .groupby(["series_id", "series_key"], as_index=False)
        .agg(episodes=("fired_at", "size"), firing_seconds=("firing_seconds", "sum"))
        .sort_values(["episodes", "firing_seconds"], ascending=False, ignore_index=True)
    )
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


def _iso(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
