"""The NOC wall: live estate health for a TV nobody touches, readable from five metres.

Everything live sits in one fragment that re-renders itself every
``settings.wall_refresh_seconds``; old data is never shown as fresh (a red banner says
how old it is, on every view), and the time of the last update is always on screen.

In kiosk mode (``?kiosk=1``) the wall plays ``settings.wall_views`` in turn, each for
``settings.wall_rotate_seconds``, the view chosen by the clock alone (see
:mod:`vigil.wall_views`); ``?view=NAME`` pins one view. At a desk the wall does not turn
pages under someone reading it: it shows the first view and a picker for the others.
Type grows with the screen; on a 4K TV whose browser renders at 100 %, ``?scale=2``
enlarges the charts too.
"""

from __future__ import annotations

import re
from html import escape

import pandas as pd
import streamlit as st

from vigil import queries, wall_playlist, wall_views
from vigil.clock import utc_now
from vigil.engine import EngineStatus, get_engine
from vigil.i18n import LANG_STATE_KEY, format_duration, format_time, t
from vigil.page_shell import ensure_shell
from vigil.settings import WALL_VIEWS

PICKER_KEY = "wall_view_picker"

# Lengths are written in rem and turned into multiples of --vu, a rem that grows with the
# screen (16 px at 1920 wide, 32 px at 3840), so a 4K TV reads like a full-HD one.
_CSS = """
.vw-head{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:.6rem}
.vw-title{font-size:2.8rem;font-weight:800;letter-spacing:.02em}
.vw-clock{font-size:2rem;color:#cbd5e1;text-align:right}
.vw-clock small{display:block;font-size:1.25rem;color:#94a3b8}
.vw-stale{background:#b91c1c;color:#fff;font-size:2.4rem;font-weight:800;padding:.7rem 1.2rem;
 border-radius:.6rem;margin:.4rem 0 1rem;animation:vwpulse 2s infinite}
.vw-stale span{font-size:1.5rem;font-weight:500;margin-left:1rem}
@keyframes vwpulse{50%{background:#7f1d1d}}
.vw-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(13.5rem,1fr));gap:1rem}
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
.vw-title small{font-size:1.5rem;font-weight:600;color:#94a3b8;margin-left:1.2rem}
.vw-dot{display:inline-block;width:.8rem;height:.8rem;border-radius:50%;background:#334155;
 margin-right:.35rem;vertical-align:middle}
.vw-dot.on{background:#4cc9f0}
.vw-chips{display:flex;gap:1rem;margin:.4rem 0 .2rem}
.vw-chip{font-size:1.8rem;font-weight:800;text-transform:uppercase;border-radius:.6rem;
 padding:.3rem 1rem;color:#fff;background:#475569}
.vw-alerts.vw-big{font-size:2.3rem}
.vw-alerts.vw-big .vw-sev{font-size:1.7rem}
.vw-age{white-space:nowrap;text-align:right;color:#cbd5e1}
.vw-eta{font-size:1.8rem;margin-top:.8rem}
.vw-eta b{color:#fff;border-radius:.45rem;padding:.1rem .6rem}
"""
WALL_CSS = (
    "<style>:root{--vu:clamp(14px,.834vw,48px)}"
    + re.sub(r"(\d*\.?\d+)rem", r"calc(\1*var(--vu))", _CSS)
    + "</style>"
)

ensure_shell("wall")

engine = get_engine()
settings = engine.settings
lang: str = st.session_state.get(LANG_STATE_KEY, settings.language)
kiosk = st.query_params.get("kiosk") in ("1", "true", "yes")


def _title(view: str) -> str:
    return t(f"wall.view.{view}", lang)


def _playlist(view: str, pinned: bool) -> str:
    """Dots for the playlist and where it is ("2/5 · Service map"); a pin shows only its name."""
    views = settings.wall_views
    if pinned or view not in views or len(views) == 1 or settings.wall_rotate_seconds <= 0:
        return ""
    at = views.index(view)
    dots = "".join(
        f'<span class="vw-dot{" on" if i == at else ""}"></span>' for i in range(len(views))
    )
    return f"<small>{dots} {at + 1}/{len(views)} · {escape(_title(view))}</small>"


def _header(view: str, pinned: bool, now: pd.Timestamp, newest: pd.Timestamp | None) -> None:
    clock = t("wall.updated", lang, time=format_time(now))
    detail = t("wall.newest", lang, time=format_time(newest))
    indicator = _playlist(view, pinned) if kiosk else ""
    st.html(
        f'<div class="vw-head" data-view="{view}">'
        f'<div class="vw-title">Vigil · {escape(_title(view))}{indicator}</div>'
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


def _picked() -> None:
    """A click goes into ``?view=``, so the link shares it; a click off keeps the view."""
    choice = st.session_state.get(PICKER_KEY)
    if choice:
        st.query_params["view"] = choice
    else:
        st.session_state[PICKER_KEY] = _desk_view()


def _desk_view() -> str:
    return wall_playlist.pinned_view(st.query_params.get("view")) or settings.wall_views[0]


def _desk_picker() -> None:
    """At a desk a picker chooses the view (a TV's playlist turns by itself)."""
    st.segmented_control(
        t("wall.picker", lang), WALL_VIEWS, default=_desk_view(), key=PICKER_KEY,
        format_func=_title, label_visibility="collapsed", on_change=_picked,
    )  # fmt: skip


@st.fragment(run_every=settings.wall_refresh_seconds)
def wall() -> None:
    """One refresh of the wall; reads everything anew so nothing shown is cached."""
    store, now, status = engine.store, utc_now(), engine.status()
    newest = queries.newest_sample_ts(store)
    pinned = wall_playlist.pinned_view(st.query_params.get("view"))
    view = wall_playlist.current_view(
        now, settings.wall_views, settings.wall_rotate_seconds, pinned, rotate=kiosk
    )
    _header(view, pinned is not None, now, newest)
    if status.phase != "running":
        _starting(status)
    if newest is None:
        st.html(f'<div class="vw-progress">{t("wall.no_data", lang)}</div>')
        return
    stale = queries.is_stale(newest, now, settings.stale_after_seconds)
    if stale:
        _stale_banner(now, newest)
    scale = wall_playlist.chart_scale(st.query_params.get("scale"))
    context = wall_views.WallContext(store, settings, now, newest, stale, lang, scale)
    wall_views.render(view, context)


st.html(WALL_CSS)
if not kiosk:
    _desk_picker()
wall()
