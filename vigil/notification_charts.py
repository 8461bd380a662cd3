"""Alerts and their delivery at a glance: open alerts by service and severity, and every
attempt to send an alert's notifications, over time."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from vigil.i18n import t

OUTCOME_COLOURS = {"sent": "#15803d", "retry": "#d97706", "dead": "#dc2626",
                   "interrupted": "#7c3aed", "sending": "#64748b"}  # fmt: skip


def delivery_timeline(notifications: list[dict[str, Any]], lang: str = "en") -> go.Figure:
    """One row per notification (receiver and id), one marker per attempt coloured by
    its outcome, with the detail on hover."""
    rows = [
        {"row": f"{n['receiver']} · {n['notification_id']}", "at": a["started_at"],
         "outcome": a["outcome"], "detail": a["detail"] or "", "code": a["status_code"]}
        for n in notifications for a in n["attempt_log"]
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["row", "at", "outcome", "detail", "code"])
    fig = go.Figure()
    for outcome, part in frame.groupby("outcome", sort=False):
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(part["at"]), y=part["row"], mode="markers",
            name=t(f"alerts.outcome.{outcome}", lang),
            marker={"size": 14, "color": OUTCOME_COLOURS.get(str(outcome), "#64748b")},
            customdata=part[["detail", "code"]].astype(str).values,
            hovertemplate="%{x}<br>%{customdata[1]} %{customdata[0]}<extra></extra>",
        ))  # fmt: skip
    fig.update_layout(height=120 + 36 * max(1, frame["row"].nunique()),
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title=t("alerts.delivery", lang), legend={"orientation": "h"})  # fmt: skip
    return fig


SEVERITY_COLOURS = {"critical": "#dc2626", "warning": "#f59e0b", "info": "#3b82f6"}


def alerts_by_service(alerts: pd.DataFrame, lang: str = "en") -> go.Figure:
    """Stacked bars: how many of the listed alerts each service has, by severity, the
    service with most first (the groups the dispatcher notifies by default)."""
    counts = alerts.groupby(["service", "severity"]).size().rename("n").reset_index()
    order = counts.groupby("service")["n"].sum().sort_values(ascending=False).index.tolist()
    fig = go.Figure()
    for severity, part in counts.groupby("severity", sort=False):
        colour = SEVERITY_COLOURS.get(str(severity), "#64748b")
        fig.add_trace(go.Bar(x=part["service"], y=part["n"], name=str(severity),
                             marker_color=colour))  # fmt: skip
    fig.update_layout(barmode="stack", height=260, title=t("alerts.by_service", lang),
                      margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"categoryorder": "array", "categoryarray": order},
                      legend={"orientation": "h"})  # fmt: skip
    return fig
