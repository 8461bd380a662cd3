"""Plotly figures for the wall and the explorer, all on one dark template.

A series is always drawn against what the detectors expected of it: the normal band
(lower–upper) shaded, the expected value dashed, anomalies (score at or above
:data:`vigil.queries.ANOMALY_THRESHOLD`) as red markers, alert episodes and incidents
as shaded spans. Frames come from :func:`vigil.queries.series_window`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from vigil.i18n import t
from vigil.queries import ANOMALY_THRESHOLD

TEMPLATE = "plotly_dark"
BACKGROUND = "rgba(0,0,0,0)"
VALUE_COLOUR = "#4cc9f0"
EXPECTED_COLOUR = "#adb5bd"
BAND_FILL = "rgba(76, 201, 240, 0.15)"
ANOMALY_COLOUR = "#ff4d4f"
ALERT_FILL = "rgba(255, 77, 79, 0.14)"
INCIDENT_FILL = "rgba(245, 158, 11, 0.16)"
STATUS_COLOURS = {"ok": "#15803d", "warning": "#d97706", "critical": "#dc2626"}


def has_column(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and frame[column].notna().any()


def _band_traces(frame: pd.DataFrame, lang: str, legend: bool) -> list[go.Scatter]:
    """Upper then lower with ``fill='tonexty'``: plotly fills between consecutive traces."""
    if not (has_column(frame, "lower") and has_column(frame, "upper")):
        return []
    common = {"x": frame["ts"], "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    return [
        go.Scatter(y=frame["upper"], showlegend=False, **common),
        go.Scatter(
            y=frame["lower"],
            fill="tonexty",
            fillcolor=BAND_FILL,
            name=t("chart.band", lang),
            showlegend=legend,
            **common,
        ),
    ]


def _anomaly_trace(frame: pd.DataFrame, lang: str, size: int) -> go.Scatter | None:
    if not has_column(frame, "score"):
        return None
    hot = frame[frame["score"] >= ANOMALY_THRESHOLD]
    if hot.empty:
        return None
    return go.Scatter(
        x=hot["ts"],
        y=hot["value"],
        mode="markers",
        marker={"color": ANOMALY_COLOUR, "size": size},
        name=t("chart.anomaly", lang),
        customdata=hot["score"],
        hovertemplate="%{x}<br>%{y:.4g}<br>score %{customdata:.2f}<extra></extra>",
    )


def _shade_alerts(fig: go.Figure, alerts: pd.DataFrame | None, lang: str) -> None:
    if alerts is None or alerts.empty:
        return
    for row in alerts.itertuples(index=False):
        fig.add_vrect(
            x0=row.start,
            x1=row.end,
            fillcolor=ALERT_FILL,
            line_width=0,
            layer="below",
            annotation_text=f"{t('chart.alert', lang)}: {row.rule_id}",
            annotation_position="bottom left",
            annotation_font_size=10,
            annotation_font_color=ANOMALY_COLOUR,
        )


def _shade_incidents(fig: go.Figure, incidents: pd.DataFrame | None, end: object) -> None:
    if incidents is None or incidents.empty:
        return
    for row in incidents.itertuples(index=False):
        x1 = row.ended_at if pd.notna(row.ended_at) else end
        fig.add_vrect(
            x0=row.started_at,
            x1=x1,
            fillcolor=INCIDENT_FILL,
            line={"color": "#f59e0b", "width": 1, "dash": "dot"},
            layer="below",
            annotation_text=str(row.title),
            annotation_position="top left",
            annotation_font_size=14,
            annotation_font_color="#f59e0b",
        )


FORECAST_COLOUR = "#b197fc"
FORECAST_FILL = "rgba(177, 151, 252, 0.15)"


def add_forecast(fig: go.Figure, forecast: pd.DataFrame, lang: str) -> None:
    """The seasonal forecast after the last point: a dotted line in its own band."""
    if forecast is None or forecast.empty:
        return
    common = {"x": forecast["ts"], "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    fig.add_trace(go.Scatter(y=forecast["upper"], showlegend=False, **common))
    fig.add_trace(go.Scatter(y=forecast["lower"], fill="tonexty", fillcolor=FORECAST_FILL,
                             name=t("chart.forecast_band", lang), **common))  # fmt: skip
    fig.add_trace(go.Scatter(x=forecast["ts"], y=forecast["expected"], mode="lines",
                             line={"color": FORECAST_COLOUR, "dash": "dot", "width": 1.6},
                             name=t("chart.forecast", lang)))  # fmt: skip


def series_with_band(
    frame: pd.DataFrame,
    title: str,
    alerts: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    lang: str = "en",
    height: int = 320,
    forecast: pd.DataFrame | None = None,
) -> go.Figure:
    """One series against its baseline, with alert episodes, incidents and (optionally)
    the seasonal forecast after its last point."""
    fig = go.Figure()
    for trace in _band_traces(frame, lang, legend=True):
        fig.add_trace(trace)
    if has_column(frame, "expected"):
        fig.add_trace(
            go.Scatter(
                x=frame["ts"],
                y=frame["expected"],
                mode="lines",
                line={"color": EXPECTED_COLOUR, "dash": "dash", "width": 1},
                name=t("chart.expected", lang),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=frame["ts"],
            y=frame["value"],
            mode="lines",
            line={"color": VALUE_COLOUR, "width": 1.6},
            name=t("chart.value", lang),
        )
    )
    anomalies = _anomaly_trace(frame, lang, size=7)
    if anomalies is not None:
        fig.add_trace(anomalies)
    if forecast is not None:
        add_forecast(fig, forecast, lang)
    _shade_alerts(fig, alerts, lang)
    end = frame["ts"].max() if len(frame) else None
    _shade_incidents(fig, incidents, end)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "font": {"size": 13}},
        height=height,
        margin={"l": 40, "r": 10, "t": 40, "b": 30},
        paper_bgcolor=BACKGROUND,
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified",
    )
    return fig


def sparkline_with_band(frame: pd.DataFrame, height: int = 110) -> go.Figure:
    """A tiny chart for the wall: value over its band, anomalies in red, no axes or legend."""
    fig = go.Figure()
    for trace in _band_traces(frame, "en", legend=False):
        fig.add_trace(trace)
    fig.add_trace(
        go.Scatter(
            x=frame["ts"],
            y=frame["value"],
            mode="lines",
            line={"color": VALUE_COLOUR, "width": 2.5},
            hoverinfo="skip",
        )
    )
    anomalies = _anomaly_trace(frame, "en", size=6)
    if anomalies is not None:
        fig.add_trace(anomalies)
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        showlegend=False,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


SEVERITY_BAR_COLOURS = {"critical": "#dc2626", "warning": "#f59e0b", "info": "#3b82f6"}


def alert_timeline(
    alerts: pd.DataFrame,
    incidents: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    height: int = 330,
) -> go.Figure:
    """One lane per service with its firing alerts as bars, incidents shaded behind them:
    whether alerts line up with what really happened is visible at a glance."""
    fig = go.Figure()
    for severity, part in alerts.groupby("severity", sort=False):
        fig.add_trace(
            go.Bar(
                base=part["start"],
                x=(part["end"] - part["start"]).dt.total_seconds() * 1000,
                y=part["service"],
                orientation="h",
                marker_color=SEVERITY_BAR_COLOURS.get(str(severity), "#64748b"),
                name=str(severity),
                hovertext=part["rule_id"],
                width=0.6,
            )
        )
    _shade_incidents(fig, incidents, end)
    fig.update_layout(
        template=TEMPLATE,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        height=height,
        barmode="overlay",
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        showlegend=False,
        font={"size": 18},
        xaxis={"type": "date", "range": [start, end], "tickfont": {"size": 18}},
        yaxis={"categoryorder": "category descending", "tickfont": {"size": 20}},
    )
    return fig


JOB_STATUS_COLOURS = {"ok": "#16a34a", "running": "#3b82f6", "failed": "#dc2626"}
JOB_STATUS_ORDER = ("ok", "running", "failed")  # drawn last on top: a failure is never hidden


def _job_bar_widths(runs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Bar lengths in ms; a running job reaches ``end`` and a seconds-long run stays visible."""
    finished = pd.to_datetime(runs["ended_at"]).fillna(end)
    widths = (finished - pd.to_datetime(runs["started_at"])).dt.total_seconds() * 1000
    return widths.clip(lower=(end - start).total_seconds() * 1000 / 720)


def job_timeline(
    runs: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    lang: str = "en",
    height: int = 300,
) -> go.Figure:
    """One lane per job with its runs as bars coloured by status; hover gives rows and error.

    Frames come from :func:`vigil.source_status.job_runs`.
    """
    fig = go.Figure()
    for status in JOB_STATUS_ORDER:
        part = runs[runs["status"] == status]
        if part.empty:
            continue
        duration = part["duration_seconds"].fillna((end - part["started_at"]).dt.total_seconds())
        detail = pd.DataFrame(
            {"duration": duration.round(2), "rows": part["rows"].fillna(0).astype(int),
             "error": part["error"].fillna("").str.slice(0, 200)}
        )  # fmt: skip
        fig.add_trace(
            go.Bar(
                base=part["started_at"],
                x=_job_bar_widths(part, start, end),
                y=part["job"],
                orientation="h",
                marker_color=JOB_STATUS_COLOURS.get(status, "#64748b"),
                name=t(f"jobs.status.{status}", lang),
                customdata=detail.to_numpy(),
                hovertemplate=(
                    "%{y} · %{base|%H:%M:%S}<br>%{customdata[0]} s · "
                    f"{t('jobs.col.rows', lang)} %{{customdata[1]}}"
                    "<br>%{customdata[2]}<extra>%{fullData.name}</extra>"
                ),
                width=0.6,
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        height=height,
        barmode="overlay",
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        legend={"orientation": "h", "y": 1.12},
        font={"size": 14},
        # a little room on the right: the latest runs are the ones people look for
        xaxis={"type": "date", "range": [start, end + (end - start) / 50]},
        yaxis={"categoryorder": "category descending"},
    )
    return fig


MODEL_STATE_COLOURS = {"ok": "#16a34a", "failed": "#dc2626", "none": "#64748b"}


def model_quality(models: pd.DataFrame, lang: str = "en", height: int = 380) -> go.Figure:
    """Each fitted series as a point: how noisy its residual is (x, log) against how often
    its model would have alerted on its own training history (y). Points high up are the
    models to look at first: their history was not normal, or the model does not fit.

    Frames come from :func:`vigil.model_status.model_overview`.
    """
    fig = go.Figure()
    fitted = models[models["training_alert_share"].notna()]
    for state, part in fitted.groupby("state"):
        fig.add_trace(
            go.Scatter(
                x=part["residual_sigma"].clip(lower=1e-9),
                y=part["training_alert_share"] * 100,
                mode="markers",
                name=t(f"models.state.{state}", lang),
                marker={"color": MODEL_STATE_COLOURS.get(str(state), "#64748b"), "size": 9},
                text=part["series_key"],
                hovertemplate="%{text}<br>σ %{x:.3g} · %{y:.2f} %<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.1},
        font={"size": 14},
        xaxis={"type": "log", "title": t("models.axis.sigma", lang)},
        yaxis={"title": t("models.axis.alert_share", lang), "rangemode": "tozero"},
    )
    return fig


# -- the wall -------------------------------------------------------------------------------
# The wall redraws every few seconds, so its charts are plain plotly specs (dicts) on a
# small dark template: building graph objects on ``plotly_dark`` costs 30-80 ms a chart
# (the template's defaults for every trace type are copied and validated each time),
# a spec about 5 ms. ``st.plotly_chart`` takes a spec as it is.
