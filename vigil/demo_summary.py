"""What `vigil demo` prints: the estate, the alerts, and how they line up with ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from analytics.evaluation import alert_groups_frame, alert_precision, incident_recall
from analytics.grouping import group_alerts
from vigil.store import Store

GROUP_INTERVAL_SECONDS = 1800


@dataclass(frozen=True)
class DemoSummary:
    series: int
    samples: int
    incidents: int
    alerts: int
    groups: int
    recall: float
    precision: float
    recall_by_kind: dict[str, float] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)


def load_incidents(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = store.df(
        "SELECT incident_id, kind, service, affected_services, started_at, ended_at "
        "FROM incidents WHERE started_at < ? AND coalesce(ended_at, started_at) >= ? "
        "ORDER BY started_at",
        [end.to_pydatetime(), start.to_pydatetime()],
    )
    frame["affected_services"] = [json.loads(v) for v in frame["affected_services"]]
    return frame


def fired_alerts(store: Store, start: pd.Timestamp) -> pd.DataFrame:
    return store.df(
        "SELECT alert_id, rule_id, service, severity, fired_at, resolved_at FROM alerts "
        "WHERE fired_at IS NOT NULL AND coalesce(resolved_at, fired_at) >= ? ORDER BY fired_at",
        [start.to_pydatetime()],
    )


def demo_summary(store: Store, *, days: int, now: pd.Timestamp) -> DemoSummary:
    start = now - pd.Timedelta(days=days)
    incidents = load_incidents(store, start, now)
    alerts = fired_alerts(store, start)
    group_ids = group_alerts(
        alerts, group_by=("service",), group_interval_seconds=GROUP_INTERVAL_SECONDS
    )
    groups = alert_groups_frame(alerts, group_ids, now)
    recall = incident_recall(incidents, groups)
    precision = alert_precision(incidents, groups)
    return DemoSummary(
        series=int(store.one("SELECT count(*) FROM series")),
        samples=int(store.one("SELECT count(*) FROM samples")),
        incidents=len(incidents),
        alerts=len(alerts),
        groups=len(groups),
        recall=float(recall.recall),
        precision=float(precision.precision),
        recall_by_kind=dict(recall.by_kind),
        missed=list(recall.missed),
    )


def render_summary(s: DemoSummary) -> str:
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(s.recall_by_kind.items()))
    lines = [
        f"series:            {s.series}",
        f"samples:           {s.samples}",
        f"incidents:         {s.incidents}",
        f"alerts fired:      {s.alerts} in {s.groups} groups",
        f"incident recall:   {s.recall:.2f}   ({kinds})",
        f"alert precision:   {s.precision:.2f}   (share of alert groups that overlap an incident)",
    ]
    if s.missed:
        lines.append(f"missed incidents:  {', '.join(s.missed)}")
    return "\n".join(lines)
