"""Why an alert fired, as its page draws it: the series it is about around the alert,
against its baseline band, with the alert's episodes shaded and the rule's threshold.

Alerts on one series (per-series rules, plain selectors) have that series; an alert
on an aggregation or a received one has none, and its page says so instead of a chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.conditions import comparison_threshold
from analytics.rule_files import load_rule_text
from analytics.rules import RuleValidationError
from vigil import queries
from vigil.errors import VigilError
from vigil.rule_versions import rule_text
from vigil.store import Store

BEFORE = pd.Timedelta(hours=3)  # enough to see the normal the alert broke from
AFTER = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Evidence:
    title: str
    frame: pd.DataFrame  # series_window's columns
    intervals: pd.DataFrame  # alert_intervals' columns
    threshold: float | None


def rule_threshold(store: Store, rule_id: str) -> float | None:
    """The number the alert's rule compares with, if it is one of Vigil's rules."""
    try:
        group, text = rule_text(store, rule_id)
        return comparison_threshold(load_rule_text(text, group).rule())
    except (VigilError, RuleValidationError):
        return None


def alert_evidence(store: Store, alert: dict[str, Any], now: pd.Timestamp) -> Evidence | None:
    """The chart's data for ``alert`` (a record of ``vigil.alert_list``), or None when it
    is about no single series."""
    series_id = alert.get("series_id")
    if series_id is None or pd.isna(series_id):
        return None
    began = pd.Timestamp(alert["fired_at"] or alert["active_at"]).tz_localize(None)
    ended = pd.Timestamp(alert["resolved_at"]).tz_localize(None) if alert["resolved_at"] else now
    start, end = began - BEFORE, min(now, ended + AFTER)
    ids = [int(series_id)]
    key = store.one("SELECT series_key FROM series WHERE series_id = ?", ids)
    return Evidence(
        title=str(key or series_id),
        frame=queries.series_window(store, ids, start, end),
        intervals=queries.alert_intervals(store, ids, start, end),
        threshold=rule_threshold(store, alert["rule_id"]),
    )
