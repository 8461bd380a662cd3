"""The alert list as people triage it: within a time range, and grouped the way the
dispatcher groups alerts into notifications (the ``group_by`` labels), so a storm of
forty alerts reads as the three groups that paged someone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analytics.dispatch import group_labels
from vigil.queries import SEVERITY_RANK


@dataclass(frozen=True)
class AlertGroup:
    """One notification group: the labels it is known by and its alerts, worst first."""

    label: str
    alerts: pd.DataFrame
    worst: str
    open: int


def active_since(frame: pd.DataFrame, start: pd.Timestamp | None) -> pd.DataFrame:
    """Alerts active at some point after ``start`` (all when None): open ones, and resolved
    ones that resolved after it."""
    if start is None or frame.empty:
        return frame
    resolved = pd.to_datetime(frame["resolved_at"], utc=True).dt.tz_localize(None)
    return frame[resolved.isna() | (resolved > start)]


def group_alerts(frame: pd.DataFrame, group_by: Sequence[str]) -> list[AlertGroup]:
    """``frame`` (alert records with a ``labels`` dict column) split into dispatcher groups,
    the group with the worst severity and most open alerts first."""
    if frame.empty:
        return []
    label = frame["labels"].map(
        lambda labels: (
            ", ".join(f"{k}={v}" for k, v in group_labels(labels, group_by).items()) or "—"
        )
    )
    rank = frame["severity"].map(SEVERITY_RANK).fillna(0)
    groups = []
    for name, members in frame.assign(_rank=rank).groupby(label.rename("_group"), sort=False):
        members = members.sort_values("_rank", ascending=False)
        open_count = int((members["state"] != "resolved").sum())
        groups.append(AlertGroup(str(name), members.drop(columns="_rank"),
                                 str(members["severity"].iloc[0]), open_count))  # fmt: skip
    return sorted(groups, key=lambda g: (-SEVERITY_RANK.get(g.worst, 0), -g.open, g.label))
