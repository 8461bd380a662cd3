"""The wall's views: health, service map, firing alerts, top anomalies, capacity.

Each renderer draws one view inside the page's auto-refreshing fragment from a
:class:`WallContext`; the page draws what every view shares (header, stale banner), and
:mod:`vigil.wall_playlist` says which view shows now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.capacity import HORIZON, capacity_forecast, trend_line
from vigil import queries
from vigil.charts import STATUS_COLOURS
from vigil.i18n import format_duration, format_number, format_time, t
from vigil.settings import Settings
from vigil.store import Store
from vigil.topology import service_dependencies
from vigil.wall_charts import (
    capacity_chart,
    scale_figure,
    service_map,
    wall_alert_timeline,
    wall_series_with_band,
    wall_sparkline,
)
from vigil.wall_map_layout import map_layout

ALERT_ROWS = 8
FULL_ALERT_ROWS = 12
ANOMALY_WINDOW = pd.Timedelta(hours=1)
ANOMALY_HEIGHT = 290  # two rows of charts under the header and a stale banner in 1080 px
CAPACITY_WINDOW = pd.Timedelta(hours=6)
CAPACITY_HEIGHT = 300
TIMELINE_WINDOW = pd.Timedelta(hours=24)
SEVERITY_COLOURS = {"critical": "#dc2626", "warning": "#f59e0b", "info": "#3b82f6"}
STATIC = {"displayModeBar": False, "staticPlot": True}  # nobody clicks a wall


@dataclass(frozen=True)
class WallContext:
    """What one refresh of the wall knows: read once, shared by the header and the view."""

    store: Store
    settings: Settings
    now: pd.Timestamp
    newest: pd.Timestamp
    stale: bool
    lang: str
    scale: float = 1.0  # pixels of the charts, see chart_scale

    @property
    def data_end(self) -> pd.Timestamp:
        """Where windows end: the newest sample, so a stale wall still shows its last data."""
        return min(self.now, self.newest)


# -- shared pieces -------------------------------------------------------------------------


def _chart(fig: go.Figure | dict, key: str, ctx: WallContext) -> None:
    """Plotly's own theme, not Streamlit's: Streamlit's resets the wall's large type."""
    st.plotly_chart(scale_figure(fig, ctx.scale), key=key, config=STATIC, theme=None)


def _heading(text: str, count: str = "") -> None:
    st.html(f'<div class="vw-h">{escape(text)}{count}</div>')


def _quiet(text: str) -> None:
    st.html(f'<div class="vw-quiet">✓ {escape(text)}</div>')


def _alert_row(row: pd.Series, ctx: WallContext) -> str:
    lang, colour = ctx.lang, SEVERITY_COLOURS.get(row.severity, "#64748b")
    state = "" if row.state == "firing" else f" ({t('state.pending', lang)})"
    age = t("wall.for", lang, age=format_duration(ctx.now - row.since, lang))
    return (
        f'<tr><td><span class="vw-sev" style="background:{colour}">'
        f"{t(f'severity.{row.severity}', lang)}</span></td>"
        f"<td><b>{escape(str(row.service or '—'))}</b></td>"
        f'<td><a class="vw-link" target="_self" '
        f'href="alerts?alert={quote(str(row.alert_id))}&amp;lang={lang}">'
        f"{escape(row.summary)}</a>{state}</td>"
        f'<td class="vw-age">{age}</td></tr>'
    )


def _alert_table(alerts: pd.DataFrame, ctx: WallContext, rows: int, big: bool) -> None:
    """The open alerts, worst first; ``big`` for the full-screen view, whose title and
    severity counts already say what the small view's heading says."""
    if not big:
        firing = int((alerts["state"] == "firing").sum())
        colour = "#dc2626" if firing else "#16a34a"
        _heading(
            t("wall.firing", ctx.lang),
            f'<span class="vw-count" style="background:{colour}">{firing}</span>',
        )
    if alerts.empty:
        _quiet(t("wall.no_alerts", ctx.lang))
        return
    body = "".join(_alert_row(r, ctx) for r in alerts.head(rows).itertuples(index=False))
    more = len(alerts) - rows
    tail = (
        f"<div class='vw-meta'>{t('wall.more_alerts', ctx.lang, n=more)}</div>" if more > 0 else ""
    )
    size = " vw-big" if big else ""
    st.html(f'<table class="vw-alerts{size}">{body}</table>{tail}')


def _score_badge(score: float) -> str:
    colour = "#b91c1c" if score >= queries.ANOMALY_THRESHOLD else "#475569"
    return f'<b style="background:{colour}">{format_number(score, 2)}</b>'


def _caption(badge: str, name: str, tip: str) -> None:
    st.html(f'<div class="vw-spark">{badge}<span title="{escape(tip)}">{escape(name)}</span></div>')


def _series_name(instance: object, service: object, metric: str) -> str:
    where = next((str(v) for v in (instance, service) if v is not None and pd.notna(v)), "")
    return f"{where} · {metric}" if where else metric


# -- health: today's tiles, alerts, sparklines and the last day ------------------------------


def _tile(row: pd.Series, dim: bool, lang: str) -> str:
    meta = f"{row.series} {t('wall.series', lang)}"
    if row.firing:
        meta += f" · {row.firing} {t('state.firing', lang)}"
    if row.pending:
        meta += f" · {row.pending} {t('wall.pending', lang)}"
    if pd.notna(row.max_score):
        meta += f" · {t('wall.score', lang)} {row.max_score:.2f}"
    return (
        f'<div class="vw-tile{" dim" if dim else ""}" '
        f'style="background:{STATUS_COLOURS[row.status]}">'
        f'<div class="vw-name">{escape(str(row.service))}</div>'
        f'<div class="vw-status">{t(f"status.{row.status}", lang)}</div>'
        f'<div class="vw-meta">{meta}</div></div>'
    )


def _sparklines(ctx: WallContext) -> None:
    _heading(t("wall.anomalies", ctx.lang))
    top = queries.top_anomalies(ctx.store, ctx.data_end, ANOMALY_WINDOW, n=6)
    if not top:
        st.html(f'<div class="vw-meta">{t("wall.no_anomalies", ctx.lang)}</div>')
        return
    columns = st.columns(2)
    for i, item in enumerate(top):
        with columns[i % 2]:
            name = _series_name(item.instance, item.service, item.metric)
            _caption(_score_badge(item.score), name, item.series_key)
            _chart(wall_sparkline(item.frame), f"spark-{item.series_id}", ctx)


def _last_day(ctx: WallContext) -> None:
    start, end = ctx.now - TIMELINE_WINDOW, ctx.now
    alerts = queries.alert_timeline(ctx.store, start, end)
    incidents = queries.incidents_between(ctx.store, start, end)
    _heading(t("wall.timeline", ctx.lang))
    if alerts.empty and incidents.empty:
        st.html(f'<div class="vw-meta">{t("wall.no_timeline", ctx.lang)}</div>')
        return
    _chart(wall_alert_timeline(alerts, incidents, start, end), "timeline", ctx)


def render_health(ctx: WallContext) -> None:
    """Every service as a tile in its status colour, then alerts, anomalies, the last day."""
    health = queries.estate_health(ctx.store, ctx.now)
    if health.empty:
        st.info(t("wall.no_services", ctx.lang))
    else:
        tiles = "".join(_tile(r, ctx.stale, ctx.lang) for r in health.itertuples(index=False))
        st.html(f'<div class="vw-tiles">{tiles}</div>')
    left, right = st.columns([3, 2], gap="large")
    with left:
        alerts = queries.firing_alerts(ctx.store, limit=50, order="urgency")
        _alert_table(alerts, ctx, ALERT_ROWS, big=False)
        _last_day(ctx)
    with right:
        _sparklines(ctx)


# -- alerts: the firing list, full screen ----------------------------------------------------


def _chip(text: str, count: int, colour: str) -> str:
    """A count in its severity's colour; grey at zero, so colour on the wall means trouble."""
    return (
        f'<span class="vw-chip" style="background:{colour if count else "#334155"}">'
        f"{text} {count}</span>"
    )


def render_alerts(ctx: WallContext) -> None:
    """The open alerts in large type, worst first, with a count per severity on top."""
    alerts = queries.firing_alerts(ctx.store, limit=50, order="urgency")
    firing = alerts.loc[alerts["state"] == "firing", "severity"]
    chips = [
        _chip(t(f"severity.{s}", ctx.lang), int((firing == s).sum()), colour)
        for s, colour in SEVERITY_COLOURS.items()
    ]
    pending = int((alerts["state"] == "pending").sum())
    chips.append(_chip(t("wall.pending", ctx.lang), pending, "#64748b"))
    st.html(f'<div class="vw-chips">{"".join(chips)}</div>')
    _alert_table(alerts, ctx, FULL_ALERT_ROWS, big=True)


# -- map: services by dependency depth, coloured by health -----------------------------------


def _node_label(row: pd.Series, lang: str) -> str:
    name = f"<b>{escape(str(row.service))}</b>"
    if not isinstance(row.status, str):
        return f"{name}<br>{t('wall.map.no_data', lang)}"
    score = "" if pd.isna(row.max_score) else f" · {row.max_score:.2f}"
    return f"{name}<br>{t(f'status.{row.status}', lang)}{score}"


def render_map(ctx: WallContext) -> None:
    """The service graph, callers left of what they call, each node in its health colour."""
    health = queries.estate_health(ctx.store, ctx.now)
    dependencies = service_dependencies(ctx.settings)
    layout = map_layout(dependencies, health["service"].tolist())
    if layout.empty:
        st.info(t("wall.no_services", ctx.lang))
        return
    nodes = layout.merge(health[["service", "status", "max_score"]], on="service", how="left")
    nodes["label"] = [_node_label(r, ctx.lang) for r in nodes.itertuples(index=False)]
    edges = [(a, b) for a, callees in dependencies.items() for b in callees]
    _chart(service_map(nodes, edges, dim=ctx.stale), "service-map", ctx)


# -- anomalies: the most anomalous series against their bands --------------------------------


def render_anomalies(ctx: WallContext) -> None:
    """The six most anomalous series of the last hour, each against its normal band."""
    _heading(t("wall.anomalies", ctx.lang))
    top = queries.top_anomalies(ctx.store, ctx.data_end, ANOMALY_WINDOW, n=6)
    if not top:
        st.html(f'<div class="vw-meta">{t("wall.no_anomalies", ctx.lang)}</div>')
        return
    columns = st.columns(3, gap="medium")
    for i, item in enumerate(top):
        with columns[i % 3]:
            name = _series_name(item.instance, item.service, item.metric)
            _caption(_score_badge(item.score), name, item.series_key)
            fig = wall_series_with_band(item.frame, height=ANOMALY_HEIGHT)
            _chart(fig, f"anomaly-{item.series_id}", ctx)


# -- capacity: what fills up first -----------------------------------------------------------


def _eta_badge(row: pd.Series, ctx: WallContext) -> str:
    """Red "full now" / amber "100 % in 3 h" for a risk; grey share used otherwise."""
    if row.eta_seconds == 0:
        return f'<b style="background:#b91c1c">{t("wall.capacity.full_now", ctx.lang)}</b>'
    if row.at_risk:
        at = ctx.data_end + pd.Timedelta(seconds=float(row.eta_seconds))
        eta = format_duration(at - ctx.now, ctx.lang)
        text = t("wall.capacity.full_in", ctx.lang, eta=eta, time=format_time(at))
        return f'<b style="background:#c2410c">{text}</b>'
    share = f"{row.last:.0%}" if pd.notna(row.last) else "—"
    return f'<b style="background:#475569">{t("wall.capacity.used", ctx.lang, share=share)}</b>'


def _capacity_chart(row: pd.Series, frame: pd.DataFrame, ctx: WallContext) -> None:
    end = ctx.data_end
    ahead = float(row.eta_seconds) if row.at_risk else CAPACITY_WINDOW.total_seconds()
    until = end + pd.Timedelta(seconds=max(ahead, 60.0))
    level, slope = (row.level, row.slope) if pd.notna(row.slope) else (row.last, 0.0)
    trend = trend_line(level, slope, end, frame["ts"].min(), until)  # only where it was fitted
    fig = capacity_chart(frame, trend, height=CAPACITY_HEIGHT)
    _chart(fig, f"capacity-{row.series_id}", ctx)


def render_capacity(ctx: WallContext) -> None:
    """Disks and memory that fill up within the horizon at the last 6 hours' pace, soonest
    first; when none do, say so and show the fullest with their trend."""
    hours = int(HORIZON.total_seconds() // 3600)
    samples = queries.capacity_samples(ctx.store, ctx.data_end, CAPACITY_WINDOW)
    if samples.empty:
        _heading(t("wall.view.capacity", ctx.lang))
        st.html(f'<div class="vw-meta">{t("wall.capacity.untracked", ctx.lang)}</div>')
        return
    forecast = capacity_forecast(samples, ctx.data_end)
    shown = forecast[forecast["at_risk"]].head(6)
    if shown.empty:
        _quiet(t("wall.capacity.none", ctx.lang, hours=hours))
        shown = forecast.sort_values("last", ascending=False, na_position="last").head(3)
        window_hours = int(CAPACITY_WINDOW.total_seconds() // 3600)
        _heading(t("wall.capacity.fullest", ctx.lang, hours=window_hours))
    else:
        _heading(t("wall.capacity.at_risk", ctx.lang, hours=hours))
    names = queries.series_names(ctx.store, shown["series_id"].tolist()).set_index("series_id")
    frames = dict(iter(samples[samples["series_id"].isin(shown["series_id"])].groupby("series_id")))
    columns = st.columns(3, gap="medium")
    for i, row in enumerate(shown.itertuples(index=False)):
        info = names.loc[row.series_id]
        with columns[i % 3]:
            name = _series_name(info.instance, info.service, info.metric)
            st.html(f'<div class="vw-eta">{_eta_badge(row, ctx)}</div>')  # the news, large
            _caption("", name, str(info.series_key))
            _capacity_chart(row, frames[row.series_id], ctx)


RENDERERS: dict[str, Callable[[WallContext], None]] = {
    "health": render_health,
    "map": render_map,
    "alerts": render_alerts,
    "anomalies": render_anomalies,
    "capacity": render_capacity,
}


def render(view: str, ctx: WallContext) -> None:
    """Draw ``view`` (one of :data:`vigil.settings.WALL_VIEWS`) for this refresh."""
    RENDERERS[view](ctx)
