"""Delivery at a glance: every attempt to send an alert's notifications, over time."""

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
