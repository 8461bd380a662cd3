"""Jobs & sources: is every source delivering and every background job running?

The engine's phase and one card per source (green ok, amber lagging, red down, grey
not pulled) re-render every ``settings.wall_refresh_seconds``; below them the last day's
job runs as a timeline and the latest runs as a filterable table.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import streamlit as st

from vigil import source_status
from vigil.charts import job_timeline
from vigil.clock import utc_now
from vigil.engine import EngineStatus, get_engine
from vigil.i18n import LANG_STATE_KEY, format_duration, format_time, t
from vigil.page_shell import ensure_shell

WINDOW = pd.Timedelta(hours=24)
RECENT_RUNS = 50
SUMMARY_COLUMNS = {"job": "jobs.col.job", "status": "jobs.col.last_status",
                   "started_at": "jobs.col.last_run", "runs": "jobs.col.runs",
                   "failures": "jobs.col.failures", "mean_seconds": "jobs.col.mean",
                   "p95_seconds": "jobs.col.p95", "last_error": "jobs.col.error"}  # fmt: skip
RUN_COLUMNS = {"job": "jobs.col.job", "status": "jobs.col.status",
               "started_at": "jobs.col.started", "ended_at": "jobs.col.ended",
               "duration_seconds": "jobs.col.duration", "rows": "jobs.col.rows",
               "error": "jobs.col.error"}  # fmt: skip
SOURCE_COLOURS = {"ok": "#15803d", "lagging": "#d97706", "down": "#dc2626", "idle": "#64748b"}

CARD_CSS = """<style>
.vj-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.8rem}
.vj-card{border-radius:.6rem;padding:.8rem 1rem;background:rgba(100,116,139,.12);
 border-left:.5rem solid var(--c);font-size:1.05rem;line-height:1.5}
.vj-name{font-size:1.4rem;font-weight:700;display:flex;justify-content:space-between}
.vj-badge{background:var(--c);color:#fff;border-radius:.35rem;padding:0 .5rem;font-size:1rem}
.vj-err{color:#fca5a5;word-break:break-word}
.vj-dim{opacity:.7}
</style>"""

ensure_shell("jobs")

engine = get_engine()
settings = engine.settings
lang: str = st.session_state.get(LANG_STATE_KEY, settings.language)


def _engine_status(status: EngineStatus) -> None:
    phase = t(f"engine.phase.{status.phase}", lang)
    if status.phase == "failed":
        st.error(f"{t('engine.failed', lang)}: {status.message}")
        return
    line = t("jobs.engine", lang, phase=phase)
    st.markdown(f"**{line}**" + (f" — {status.message}" if status.message else ""))
    if status.phase != "running":
        st.progress(min(max(status.progress, 0.0), 1.0), text=status.message or phase)


def _when(ts: pd.Timestamp, now: pd.Timestamp) -> str:
    if pd.isna(ts):
        return t("jobs.never", lang)
    ago = t("jobs.ago", lang, age=format_duration(now - ts, lang))
    return f"{format_time(ts, with_date=True)} ({ago})"


def _card(row: pd.Series, now: pd.Timestamp) -> str:
    lag = (
        "—"
        if pd.isna(row.lag_seconds)
        else format_duration(pd.Timedelta(row.lag_seconds, "s"), lang)
    )
    error = ""
    if pd.notna(row.last_error_at):
        current = "vj-err" if row.status == "down" else "vj-dim"
        error = (
            f"<div>{t('jobs.last_error', lang)}: {_when(row.last_error_at, now)}</div>"
            f'<div class="{current}">{escape(str(row.last_error or ""))}</div>'
        )
    return (
        f'<div class="vj-card" style="--c:{SOURCE_COLOURS[row.status]}">'
        f'<div class="vj-name"><span>{escape(str(row.source))}</span>'
        f'<span class="vj-badge">{t(f"source.status.{row.status}", lang)}</span></div>'
        f"<div>{t('jobs.last_success', lang)}: {_when(row.last_success, now)}</div>{error}"
        f"<div>{t('jobs.lag', lang)}: {lag} · {t('jobs.series', lang)}: {row.series_count}</div>"
        "</div>"
    )


@st.fragment(run_every=settings.wall_refresh_seconds)
def live() -> None:
    """The engine and the sources, read anew on every refresh."""
    now = utc_now()
    _engine_status(engine.status())
    st.subheader(t("jobs.sources", lang))
    health = source_status.source_health(engine.store, now, settings.pull_interval_seconds)
    if health.empty:
        st.info(t("jobs.no_sources", lang))
    else:
        cards = "".join(_card(row, now) for row in health.itertuples(index=False))
        st.html(f'<div class="vj-cards">{cards}</div>')
    st.caption(t("wall.updated", lang, time=format_time(now)))


def _labels(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    out = frame.assign(status=frame["status"].map(lambda s: t(f"jobs.status.{s}", lang)))
    out = out.round({c: 2 for c in ("mean_seconds", "p95_seconds", "duration_seconds")})
    out = out.fillna({c: "" for c in ("error", "last_error") if c in out})
    return out[list(columns)].rename(columns={k: t(v, lang) for k, v in columns.items()})


def _summary(now: pd.Timestamp) -> None:
    summary = source_status.job_summary(engine.store, now, WINDOW)
    st.subheader(t("jobs.summary", lang))
    if summary.empty:
        st.info(t("jobs.no_runs", lang))
        return
    summary = summary.rename(columns={"last_status": "status", "last_started": "started_at"})
    st.dataframe(_labels(summary, SUMMARY_COLUMNS), hide_index=True)


def _timeline(now: pd.Timestamp) -> None:
    start = now - WINDOW
    runs = source_status.job_runs(engine.store, start, now)
    st.subheader(t("jobs.timeline", lang))
    if runs.empty:
        st.caption(t("jobs.no_runs_window", lang))
        return
    st.plotly_chart(job_timeline(runs, start, now, lang), key="job_timeline")


def _recent() -> None:
    st.subheader(t("jobs.recent", lang, n=RECENT_RUNS))
    left, right = st.columns(2)
    jobs = left.multiselect(t("jobs.col.job", lang), source_status.job_names(engine.store),
                            key="jobs_filter_job")  # fmt: skip
    statuses = right.multiselect(t("jobs.col.status", lang), source_status.JOB_STATUSES,
                                 format_func=lambda s: t(f"jobs.status.{s}", lang),
                                 key="jobs_filter_status")  # fmt: skip
    runs = source_status.last_runs(engine.store, RECENT_RUNS, jobs, statuses)
    if runs.empty:
        st.caption(t("jobs.no_match", lang))
        return
    st.dataframe(_labels(runs, RUN_COLUMNS), hide_index=True, key="jobs_recent")


st.title(t("jobs.title", lang))
st.html(CARD_CSS)
live()
_now = utc_now()
_summary(_now)
_timeline(_now)
_recent()
