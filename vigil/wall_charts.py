"""Plotly figures for the wall, built as plain dicts on a small dark template.

A TV refreshes every few seconds, and building figures on plotly's ``plotly_dark``
template cost 30–150 ms each; these dicts cost next to nothing and carry the large
fonts a wall read from 5 m needs. ``scale_figure`` multiplies pixel sizes for 4K
screens that render at 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from vigil.charts import (
    ANOMALY_COLOUR,
    BACKGROUND,
    BAND_FILL,
    EXPECTED_COLOUR,
    INCIDENT_FILL,
    SEVERITY_BAR_COLOURS,
    STATUS_COLOURS,
    VALUE_COLOUR,
    has_column,
)
from vigil.queries import ANOMALY_THRESHOLD

WALL_FONT = {"size": 20, "color": "#e2e8f0",
             "family": '"Source Sans", "Source Sans Pro", sans-serif'}  # fmt: skip
_WALL_AXIS = {"gridcolor": "#283442", "linecolor": "#506784", "zerolinecolor": "#283442",
              "automargin": True}  # fmt: skip
WALL_TEMPLATE = {
    "layout": {"font": WALL_FONT, "paper_bgcolor": BACKGROUND, "plot_bgcolor": BACKGROUND,
               "xaxis": _WALL_AXIS, "yaxis": _WALL_AXIS, "showlegend": False}
}  # fmt: skip
# Hours and minutes only, a few ticks, level: a date line under every tick wraps in a
# narrow chart, and the wall's header already says what day it is.
WALL_TIME_AXIS = {"type": "date", "tickformat": "%H:%M", "nticks": 6, "tickangle": 0}
UNKNOWN_COLOUR = "#475569"
MAP_NODE_SIZE = 86
EDGE_COLOUR = "#94a3b8"
TREND_COLOUR = "#f59e0b"
LIMIT_COLOUR = "#ef4444"


def _line(frame: pd.DataFrame, column: str, line: dict, **extra: object) -> dict:
    return {"type": "scatter", "x": frame["ts"], "y": frame[column], "mode": "lines",
            "line": line, "hoverinfo": "skip", **extra}  # fmt: skip


def _wall_band_traces(frame: pd.DataFrame, width: float, expected: bool) -> list[dict]:
    """The band (upper, then lower filled up to it), the expected value (dashed), the value,
    and anomalies as red markers: what :func:`series_with_band` draws, as plain traces."""
    traces = []
    if has_column(frame, "lower") and has_column(frame, "upper"):
        traces += [
            _line(frame, "upper", {"width": 0}),
            _line(frame, "lower", {"width": 0}, fill="tonexty", fillcolor=BAND_FILL),
        ]
    if expected and has_column(frame, "expected"):
        traces.append(
            _line(frame, "expected", {"color": EXPECTED_COLOUR, "dash": "dash", "width": 1.5})
        )
    traces.append(_line(frame, "value", {"color": VALUE_COLOUR, "width": width}))
    if has_column(frame, "score"):
        hot = frame[frame["score"] >= ANOMALY_THRESHOLD]
        if len(hot):
            traces.append(
                {
                    "type": "scatter",
                    "x": hot["ts"],
                    "y": hot["value"],
                    "mode": "markers",
                    "hoverinfo": "skip",
                    "marker": {"color": ANOMALY_COLOUR, "size": 2.5 * width},
                }
            )
    return traces


def wall_sparkline(frame: pd.DataFrame, height: int = 110) -> dict:
    """:func:`sparkline_with_band` as a spec for the wall: value over its band, anomalies
    in red, no axes."""
    layout = {
        "template": WALL_TEMPLATE,
        "height": height,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
    }
    return {"data": _wall_band_traces(frame, 2.5, expected=False), "layout": layout}


def wall_series_with_band(frame: pd.DataFrame, height: int = 380) -> dict:
    """One series against its baseline for the wall, with ticks readable across the room
    and no legend (the colours are the same on every chart of the wall)."""
    layout = {
        "template": WALL_TEMPLATE,
        "height": height,
        "xaxis": WALL_TIME_AXIS,
        "margin": {"l": 60, "r": 16, "t": 12, "b": 40},
    }
    return {"data": _wall_band_traces(frame, 2.0, expected=True), "layout": layout}


def _map_arrows(at: pd.DataFrame, edges: Sequence[tuple[str, str]]) -> list[dict]:
    """One arrow per call, from the caller's node edge to the callee's."""
    gap = MAP_NODE_SIZE / 2 + 6
    return [
        {"x": at.at[b, "x"], "y": at.at[b, "y"], "ax": at.at[a, "x"], "ay": at.at[a, "y"],
         "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "text": "", "showarrow": True,
         "arrowhead": 2, "arrowsize": 1.2, "arrowwidth": 4, "arrowcolor": EDGE_COLOUR,
         "standoff": gap, "startstandoff": gap}
        for a, b in edges if a in at.index and b in at.index
    ]  # fmt: skip


def service_map(
    nodes: pd.DataFrame,
    edges: Sequence[tuple[str, str]],
    height: int = 720,
    dim: bool = False,
) -> dict:
    """The estate as a graph for the wall: callers on the left, what they call on the right.

    ``nodes`` has ``service, x, y, status, label`` (x = dependency depth, see
    :func:`vigil.wall_map_layout.map_layout`); a node is filled in its status colour (grey when
    no series tell its state) and ``label`` is written under it in large type. ``dim``
    greys everything out, for data that is stale.
    """
    rows = int(nodes.groupby("x").size().max()) if len(nodes) else 1
    span_x = max(float(nodes["x"].max()), 0.0) if len(nodes) else 0.0
    span_y = float(nodes["y"].abs().max()) if len(nodes) else 0.0
    node_trace = {
        "type": "scatter",
        "x": nodes["x"],
        "y": nodes["y"],
        "mode": "markers+text",
        "text": nodes["label"],
        "textposition": "bottom center",
        "textfont": {"size": 28, "color": "#f8fafc"},
        "hoverinfo": "skip",
        "marker": {
            "size": MAP_NODE_SIZE,
            "line": {"color": "#e2e8f0", "width": 3},
            "color": nodes["status"].map(STATUS_COLOURS).fillna(UNKNOWN_COLOUR),
        },
        "opacity": 0.45 if dim else 1.0,
        "cliponaxis": False,
    }
    layout = {
        "template": WALL_TEMPLATE, "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        "height": max(height, 180 * rows + 60),  # a node and two lines of label per row
        "annotations": _map_arrows(nodes.set_index("service"), edges),
        "xaxis": {"visible": False, "range": [-0.45, span_x + 0.45]},
        "yaxis": {"visible": False, "range": [-span_y - 0.75, span_y + 0.5]},
    }  # fmt: skip
    return {"data": [node_trace], "layout": layout}


def capacity_chart(
    frame: pd.DataFrame, trend: pd.DataFrame, threshold: float = 1.0, height: int = 360
) -> dict:
    """A filling resource as a share of its limit: the samples, the fitted trend carried on
    to where it meets the limit (``trend``: two points, see
    :func:`analytics.capacity.trend_line`), and the limit as a red dotted line."""
    limit = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": threshold,
        "y1": threshold,
        "line": {"color": LIMIT_COLOUR, "width": 3, "dash": "dot"},
    }
    top = max(threshold * 1.05, float(frame["value"].max()) if len(frame) else 0.0)
    layout = {
        "template": WALL_TEMPLATE,
        "height": height,
        "shapes": [limit],
        "margin": {"l": 70, "r": 16, "t": 12, "b": 40},
        "xaxis": WALL_TIME_AXIS,
        "yaxis": {"range": [0, top], "tickformat": ".0%"},
    }
    data = [
        _line(frame, "value", {"color": VALUE_COLOUR, "width": 3}),
        _line(trend, "value", {"color": TREND_COLOUR, "width": 3, "dash": "dash"}),
    ]
    return {"data": data, "layout": layout}


def _incident_spans(incidents: pd.DataFrame, end: object) -> tuple[list[dict], list[dict]]:
    """Shaded spans (an open incident lasts until ``end``) and their titles at the top."""
    shapes, notes = [], []
    for row in incidents.itertuples(index=False):
        x1 = row.ended_at if pd.notna(row.ended_at) else end
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": row.started_at,
                "x1": x1,
                "y0": 0,
                "y1": 1,
                "fillcolor": INCIDENT_FILL,
                "layer": "below",
                "line": {"color": "#f59e0b", "width": 1, "dash": "dot"},
            }
        )
        notes.append(
            {
                "x": row.started_at,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "top",
                "showarrow": False,
                "text": str(row.title),
                "font": {"size": 16, "color": "#f59e0b"},
            }
        )
    return shapes, notes  # fmt: skip


def wall_alert_timeline(
    alerts: pd.DataFrame,
    incidents: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    height: int = 330,
) -> dict:
    """:func:`alert_timeline` as a spec for the wall: one lane per service with its firing
    alerts as bars in their severity's colour, incidents shaded behind them."""
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "base": part["start"],
            "y": part["service"],
            "x": (part["end"] - part["start"]).dt.total_seconds() * 1000,
            "width": 0.6,
            "marker": {"color": SEVERITY_BAR_COLOURS.get(str(severity), "#64748b")},
            "hoverinfo": "skip",
        }
        for severity, part in alerts.groupby("severity", sort=False)
    ]
    shapes, notes = _incident_spans(incidents, end)
    layout = {
        "template": WALL_TEMPLATE,
        "height": height,
        "barmode": "overlay",
        "margin": {"l": 10, "r": 10, "t": 30, "b": 30},
        "shapes": shapes,
        "annotations": notes,
        "font": {"size": 18},
        "xaxis": {"type": "date", "range": [start, end], "tickfont": {"size": 18}},
        "yaxis": {"categoryorder": "category descending", "tickfont": {"size": 20}},
    }
    return {"data": data, "layout": layout}  # fmt: skip


# Which numbers of a spec are pixels, by the key of the dict that holds them.
_PIXELS: dict[str, frozenset[str]] = {
    "layout": frozenset({"height"}),
    "margin": frozenset({"l", "r", "t", "b"}),
    "font": frozenset({"size"}),
    "textfont": frozenset({"size"}),
    "tickfont": frozenset({"size"}),
    "marker": frozenset({"size"}),
    "line": frozenset({"width"}),
    "annotations": frozenset({"standoff", "startstandoff", "arrowwidth"}),
}


def _scaled(node: object, scale: float, pixels: frozenset[str] = frozenset()) -> object:
    """``node`` with the numbers under its keys named in ``pixels`` times ``scale``."""
    if isinstance(node, list):
        return [_scaled(item, scale, pixels) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: value * scale
        if key in pixels and isinstance(value, int | float) and not isinstance(value, bool)
        else _scaled(value, scale, _PIXELS.get(key, frozenset()))
        for key, value in node.items()
    }


def scale_figure(figure: go.Figure | dict, scale: float) -> dict:
    """The figure as a spec with everything drawn in pixels (height, margins, type,
    markers, lines) times ``scale``. The wall's HTML grows with the screen through CSS;
    plotly only counts pixels, so a 4K TV whose browser renders at 100 % asks for
    ``scale=2``. Fonts left to plotly's default (12 px) are scaled too.

    A spec without a trace gets an empty one: Streamlit validates a spec (not a Figure)
    and refuses one with no data, so a chart of an empty window would show a traceback
    on the wall instead of empty axes."""
    spec = figure.to_dict() if isinstance(figure, go.Figure) else dict(figure)
    if not spec.get("data"):
        spec["data"] = [{"type": "scatter", "x": [], "y": [], "hoverinfo": "skip"}]
    if scale == 1:
        return spec
    layout = dict(spec.get("layout", {}))
    font = layout.get("font") or (layout.get("template") or {}).get("layout", {}).get("font", {})
    layout["font"] = {**font, "size": font.get("size", 12)}
    return _scaled({**spec, "layout": layout}, scale)  # type: ignore[return-value]
