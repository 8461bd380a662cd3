"""Plotly figures for the rule editor: what a draft rule would have done, before saving.

The backtest chart draws the rule's expression for the elements that fired most, with
the threshold and every firing interval shaded in its element's colour, so an edit that
makes a rule noisier or quieter shows where and how much at a glance.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from vigil.charts import BACKGROUND, TEMPLATE
from vigil.i18n import t

MAX_SHADED = 150  # firing intervals drawn as shapes; beyond that the chart gets slow
PALETTE = qualitative.Plotly


def _layout(fig: go.Figure, height: int, title: str) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE, paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND, height=height,
        title={"text": title, "font": {"size": 14}}, margin={"l": 40, "r": 10, "t": 40, "b": 30},
        legend={"orientation": "h", "y": -0.15},
    )  # fmt: skip
    return fig


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def backtest_chart(
    curves: pd.DataFrame, fired: pd.DataFrame, lang: str = "en",
    threshold: float | None = None, height: int = 360,
) -> go.Figure:  # fmt: skip
    """The rule's expression for the elements that fired most, with their firings."""
    fig = go.Figure()
    colours = {}
    for i, (key, part) in enumerate(curves.groupby("series_key", sort=False)):
        colours[key] = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=part["ts"], y=part["value"], mode="lines", name=str(key),
                                 line={"color": colours[key], "width": 1.5},
                                 connectgaps=False))  # fmt: skip
    shown = fired[fired["series_key"].isin(list(colours))].head(MAX_SHADED)
    end = curves["ts"].max() if not curves.empty else None
    for row in shown.itertuples(index=False):
        until = row.resolved_at if pd.notna(row.resolved_at) else end
        fig.add_vrect(x0=row.fired_at, x1=until, line_width=0, layer="below",
                      fillcolor=_rgba(colours[row.series_key], 0.18))  # fmt: skip
    if threshold is not None:
        fig.add_hline(y=threshold, line={"color": "#ff4d4f", "dash": "dash", "width": 1},
                      annotation_text=t("rules.threshold", lang),
                      annotation_font_color="#ff4d4f")  # fmt: skip
    return _layout(fig, height, t("rules.preview_chart", lang))


def firings_per_day_chart(per_day: pd.DataFrame, lang: str = "en", height: int = 220
                          ) -> go.Figure:  # fmt: skip
    """How many times the rule would have fired each day."""
    fig = go.Figure(go.Bar(x=per_day["day"], y=per_day["episodes"], marker_color="#f59e0b",
                           name=t("rules.firings", lang)))  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, height, t("rules.per_day_chart", lang))
