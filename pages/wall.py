"""The NOC wall: live estate health for a TV nobody touches, readable from five metres.

Everything live sits in one fragment that re-renders itself every
``settings.wall_refresh_seconds``; old data is never shown as fresh (a red banner says
how old it is), and the time of the last update is always on screen.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import pandas as pd
import streamlit as st

from vigil import queries
from vigil.charts import STATUS_COLOURS, alert_timeline, sparkline_with_band
from vigil.clock import utc_now
from vigil.engine import EngineStatus, get_engine
from vigil.i18n import LANG_STATE_KEY, format_duration, format_number, format_time, t
from vigil.page_shell import ensure_shell
from vigil.store import Store

ALERT_ROWS = 8
ANOMALY_WINDOW = pd.Timedelta(hours=1)
TIMELINE_WINDOW = pd.Timedelta(hours=24)
SEVERITY_COLOURS = {"critical": "#dc2626", "warning": "#f59e0b", "info": "#3b82f6"}

WALL_CSS = """<style>
.vw-head{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:.6rem}
.vw-title{font-size:2.8rem;font-weight:800;letter-spacing:.02em}
.vw-clock{font-size:2rem;color:#cbd5e1;text-align:right}
.vw-clock small{display:block;font-size:1.25rem;color:#94a3b8}
.vw-stale{background:#b91c1c;color:#fff;font-size:2.4rem;font-weight:800;padding:.7rem 1.2rem;
 border-radius:.6rem;margin:.4rem 0 1rem;animation:vwpulse 2s infinite}
.vw-stale span{font-size:1.5rem;font-weight:500;margin-left:1rem}
@keyframes vwpulse{50%{background:#7f1d1d}}
.vw-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(215px,1fr));gap:1rem}
.vw-tile{border-radius:.8rem;padding:1rem 1.2rem;color:#fff;min-height:7.5rem;
 box-shadow:0 2px 10px rgba(0,0,0,.35)}
.vw-tile.dim{opacity:.45;filter:grayscale(.6)}
.vw-name{font-size:2.2rem;font-weight:800;line-height:1.1;word-break:break-word}
.vw-status{font-size:1.5rem;font-weight:700;opacity:.95;margin:.2rem 0}
.vw-meta{font-size:1.3rem;opacity:.9}
.vw-h{font-size:2.1rem;font-weight:700;margin:1.3rem 0 .5rem}
.vw-count{display:inline-block;min-width:2.6rem;text-align:center;border-radius:.5rem;
 padding:0 .6rem;margin-left:.5rem}
.vw-alerts{width:100%;border-collapse:collapse;font-size:1.65rem}
.vw-alerts td{padding:.45rem .6rem;border-bottom:1px solid #334155;vertical-align:top}
.vw-link{color:inherit;text-decoration:none}.vw-link:hover{text-decoration:underline}
.vw-sev{font-weight:800;text-transform:uppercase;font-size:1.2rem;border-radius:.4rem;
 padding:.15rem .5rem;color:#fff;white-space:nowrap}
.vw-quiet{font-size:1.9rem;color:#4ade80;padding:.6rem 0}
.vw-spark{font-size:1.3rem;margin-top:.4rem;color:#e2e8f0;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis}
.vw-spark b{color:#fff;border-radius:.35rem;padding:0 .45rem;margin-right:.4rem}
.vw-progress{font-size:2rem;font-weight:700;margin:1rem 0 .4rem}
</style>"""

ensure_shell("wall")

engine = get_engine()
settings = engine.settings
lang: str = st.session_state.get(LANG_STATE_KEY, settings.language)


def _header(now: pd.Timestamp, newest: pd.Timestamp | None) -> None:
    clock = t("wall.updated", lang, time=format_time(now))
    detail = t("wall.newest", lang, time=format_time(newest))
    st.html(
        f'<div class="vw-head"><div class="vw-title">Vigil · {t("wall.title", lang)}</div>'
        f'<div class="vw-clock">{clock}<small>{detail}</small></div></div>'
    )


def _stale_banner(now: pd.Timestamp, newest: pd.Timestamp | None) -> None:
    if newest is None:
        detail = t("wall.stale_none", lang)
    else:
        age = format_duration(now - newest, lang)
        detail = t("wall.stale_detail", lang, age=age, time=format_time(newest, with_date=True))
    st.html(f'<div class="vw-stale">⚠ {t("wall.stale", lang)}<span>{escape(detail)}</span></div>')


def _starting(status: EngineStatus) -> None:
    """While the engine backfills or fits, say so instead of drawing empty charts."""
    if status.phase == "failed":
        st.error(f"{t('engine.failed', lang)}: {status.message}")
        return
    phase = t(f"engine.phase.{status.phase}", lang)
    st.html(f'<div class="vw-progress">{t("engine.starting", lang)} — {escape(phase)}</div>')
    st.progress(min(max(status.progress, 0.0), 1.0), text=status.message or phase)


def _tile(row: pd.Series, dim: bool) -> str:
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


def _tiles(health: pd.DataFrame, stale: bool) -> None:
    if health.empty:
        st.info(t("wall.no_services", lang))
        return
    tiles = "".join(_tile(row, stale) for row in health.itertuples(index=False))
    st.html(f'<div class="vw-tiles">{tiles}</div>')


def _alert_row(row: pd.Series, now: pd.Timestamp) -> str:
    colour = SEVERITY_COLOURS.get(row.severity, "#64748b")
    state = "" if row.state == "firing" else f" ({t('state.pending', lang)})"
    return (
        f'<tr><td><span class="vw-sev" style="background:{colour}">'
        f"{t(f'severity.{row.severity}', lang)}</span></td>"
        f"<td><b>{escape(str(row.service or '—'))}</b></td>"
        f'<td><a class="vw-link" target="_self" '
        f'href="alerts?alert={quote(str(row.alert_id))}&amp;lang={lang}">'
        f"{escape(row.summary)}</a>{state}</td>"
        f"<td>{format_duration(now - row.since, lang)}</td></tr>"
    )


def _alerts(alerts: pd.DataFrame, now: pd.Timestamp) -> None:
    firing = int((alerts["state"] == "firing").sum())
    colour = "#dc2626" if firing else "#16a34a"
    st.html(
        f'<div class="vw-h">{t("wall.firing", lang)}'
        f'<span class="vw-count" style="background:{colour}">{firing}</span></div>'
    )
    if alerts.empty:
        st.html(f'<div class="vw-quiet">✓ {t("wall.no_alerts", lang)}</div>')
        return
    rows = "".join(_alert_row(r, now) for r in alerts.head(ALERT_ROWS).itertuples(index=False))
    more = len(alerts) - ALERT_ROWS
    tail = f"<div class='vw-meta'>{t('wall.more_alerts', lang, n=more)}</div>" if more > 0 else ""
    st.html(f'<table class="vw-alerts">{rows}</table>{tail}')


def _score_colour(score: float) -> str:
    return "#b91c1c" if score >= queries.ANOMALY_THRESHOLD else "#475569"


def _anomalies(top: list[queries.AnomalySeries]) -> None:
    st.html(f'<div class="vw-h">{t("wall.anomalies", lang)}</div>')
    if not top:
        st.html(f'<div class="vw-meta">{t("wall.no_anomalies", lang)}</div>')
        return
    columns = st.columns(2)
    for i, item in enumerate(top):
        with columns[i % 2]:
            name = f"{item.instance or item.service or ''} · {item.metric}"
            st.html(
                f'<div class="vw-spark"><b style="background:{_score_colour(item.score)}">'
                f"{format_number(item.score, 2)}</b>"
                f'<span title="{escape(item.series_key)}">{escape(name)}</span></div>'
            )
            st.plotly_chart(
                sparkline_with_band(item.frame),
                key=f"spark-{item.series_id}",
                config={"displayModeBar": False, "staticPlot": True},
            )


def _last_day(store: Store, now: pd.Timestamp) -> None:
    start = now - TIMELINE_WINDOW
    alerts = queries.alert_timeline(store, start, now)
    incidents = queries.incidents_between(store, start, now)
    st.html(f'<div class="vw-h">{t("wall.timeline", lang)}</div>')
    if alerts.empty and incidents.empty:
        st.html(f'<div class="vw-meta">{t("wall.no_timeline", lang)}</div>')
        return
    st.plotly_chart(
        alert_timeline(alerts, incidents, start, now),
        key="timeline",
        config={"displayModeBar": False, "staticPlot": True},
    )


@st.fragment(run_every=settings.wall_refresh_seconds)
def wall() -> None:
    """One refresh of the wall; reads everything anew so nothing shown is cached."""
    store, now, status = engine.store, utc_now(), engine.status()
    newest = queries.newest_sample_ts(store)
    _header(now, newest)
    if status.phase != "running":
        _starting(status)
    if newest is None:
        st.html(f'<div class="vw-progress">{t("wall.no_data", lang)}</div>')
        return
    stale = queries.is_stale(newest, now, settings.stale_after_seconds)
    if stale:
        _stale_banner(now, newest)
    _tiles(queries.estate_health(store, now), stale)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _alerts(queries.firing_alerts(store, limit=50, order="urgency"), now)
        _last_day(store, now)
    with right:
        _anomalies(queries.top_anomalies(store, min(now, newest), ANOMALY_WINDOW, n=6))


st.html(WALL_CSS)
wall()
