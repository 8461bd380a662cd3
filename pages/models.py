"""Models: which detector each series runs on, how well it fits, and a refit on demand.

The summary counts series by model state; the chart puts every fitted series on noise
against "how often would this model have alerted on its own history", so a bad fit stands
out; the table lists series with their model in use; below it, one series' fits with
parameters and quality. The refit button runs the refit job here with a progress bar.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from vigil.actions import Actions
from vigil.charts import model_quality
from vigil.engine import get_engine
from vigil.errors import BusyError, PermissionDenied
from vigil.i18n import LANG_STATE_KEY, format_time, t
from vigil.model_status import model_history, model_overview, state_counts
from vigil.page_shell import ensure_shell
from vigil.session import current_principal

ensure_shell("models")

engine = get_engine()
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
LIST_COLUMNS = {"series_key": "models.col.series", "service": "models.col.service",
                "state": "models.col.state", "version": "models.col.version",
                "trained_at": "models.col.trained", "window": "models.col.window",
                "period_minutes": "models.col.period", "residual_sigma": "models.col.sigma",
                "share_percent": "models.col.share", "last_error": "models.col.error"}  # fmt: skip
HISTORY_COLUMNS = {"version": "models.col.fit_version", "status": "models.col.status",
                   "trained_at": "models.col.trained", "window": "models.col.window",
                   "params": "models.col.params", "quality": "models.col.quality",
                   "error": "models.col.error"}  # fmt: skip


def _window(frame: pd.DataFrame) -> pd.Series:
    def one(row: pd.Series) -> str:
        if pd.isna(row["train_from"]):
            return ""
        return f"{format_time(row['train_from'], True)} → {format_time(row['train_to'], True)}"

    return frame.apply(one, axis=1) if not frame.empty else pd.Series(dtype=object)


def _refit() -> None:
    bar = st.progress(0.0, text=t("models.refit_progress", lang, done=0, total="…"))

    def progress(done: int, total: int) -> None:
        text = t("models.refit_progress", lang, done=done, total=total)
        bar.progress(done / max(total, 1), text=text)

    try:
        summary = Actions(engine, current_principal()).refit(progress)
    except PermissionDenied as exc:
        bar.empty()
        st.error(str(exc))
        return
    except BusyError:
        bar.empty()
        st.warning(t("models.busy", lang))
        return
    bar.empty()
    st.success(t("models.refit_done", lang, fitted=summary.fitted, failed=summary.failed,
                 skipped=summary.skipped))  # fmt: skip


def _list(overview: pd.DataFrame) -> None:
    shown = overview.assign(
        state=overview["state"].map(lambda s: t(f"models.state.{s}", lang)),
        window=_window(overview),
        share_percent=(overview["training_alert_share"] * 100).round(2),
        residual_sigma=overview["residual_sigma"].round(4),
        last_error=overview["last_error"].where(overview["last_status"] == "failed", ""),
    )
    columns = {k: t(v, lang) for k, v in LIST_COLUMNS.items()}
    st.dataframe(shown[list(columns)].rename(columns=columns), hide_index=True,
                 key="models_list")  # fmt: skip


def _history(overview: pd.DataFrame) -> None:
    st.subheader(t("models.history", lang))
    fitted = overview[overview["versions"] > 0]
    if fitted.empty:
        return
    picked = st.selectbox(t("models.pick", lang), fitted["series_key"].tolist(),
                          key="models_pick")  # fmt: skip
    series_id = int(fitted.loc[fitted["series_key"] == picked, "series_id"].iloc[0])
    history = model_history(engine.store, series_id)
    in_use = t("models.in_use", lang)
    shown = history.assign(
        window=_window(history),
        status=[f"{s} ({in_use})" if u else s for s, u in zip(history["status"],
                                                              history["in_use"], strict=True)],
        params=history["params"].map(lambda d: ", ".join(f"{k}={v}" for k, v in d.items())),
        quality=history["quality"].map(
            lambda d: ", ".join(f"{k}={v:.4g}" for k, v in d.items())
        ),
        error=history["error"].fillna(""),
    )  # fmt: skip
    columns = {k: t(v, lang) for k, v in HISTORY_COLUMNS.items()}
    st.dataframe(shown[list(columns)].rename(columns=columns), hide_index=True,
                 key="models_history")  # fmt: skip


st.title(t("models.title", lang))
if st.button(t("models.refit", lang), icon=":material/model_training:", key="models_refit"):
    _refit()
overview = model_overview(engine.store)
if overview.empty:
    st.info(t("models.none", lang))
else:
    st.markdown(t("models.summary", lang, **state_counts(overview)))
    st.subheader(t("models.quality", lang))
    st.caption(t("models.quality_help", lang))
    st.plotly_chart(model_quality(overview, lang), key="models_quality")
    st.subheader(t("models.list", lang))
    _list(overview)
    _history(overview)
