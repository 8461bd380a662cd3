"""Explore: pick a metric and labels, and see each series against its learned baseline.

Alert episodes and incidents are drawn on the same charts so a spike can be read
together with what Vigil said about it; the shown data downloads as CSV.
"""

from __future__ import annotations

import datetime as dt
import zlib

import pandas as pd
import streamlit as st

from vigil import queries
from vigil.charts import series_with_band
from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.forecasts import series_forecasts
from vigil.i18n import LANG_STATE_KEY, t
from vigil.page_shell import ensure_shell

MAX_SERIES = 6
FORECASTS = {"off": None, "6h": pd.Timedelta(hours=6), "24h": pd.Timedelta(hours=24)}
RANGES = {
    "1h": pd.Timedelta(hours=1),
    "6h": pd.Timedelta(hours=6),
    "24h": pd.Timedelta(hours=24),
    "7d": pd.Timedelta(days=7),
    "14d": pd.Timedelta(days=14),
    "custom": None,
}

ensure_shell("explore")

engine = get_engine()
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)


@st.cache_data(ttl=30, show_spinner=False)
def _catalog(data_dir: str) -> pd.DataFrame:
    """Series change only when a source adds one; 30 s keeps pickers snappy yet current."""
    return queries.series_catalog(engine.store)


def _pick_metric(catalog: pd.DataFrame) -> str:
    counts = catalog.groupby("metric").size()
    metrics = counts.index.tolist()
    linked = st.query_params.get("metric")  # ?metric=NAME: a deep link, e.g. from search
    return st.selectbox(
        t("explore.metric", lang),
        metrics,
        index=metrics.index(linked) if linked in metrics else 0,
        format_func=lambda m: f"{m} ({counts[m]})",
        key="explore_metric",
    )


def _label_filters(metric: str) -> dict[str, list[str]]:
    """A multiselect per label that tells series apart, each value with its series count."""
    pairs = queries.label_values(engine.store, metric)
    useful = [lb for lb, part in pairs.groupby("label") if len(part) > 1]
    if not useful:
        return {}
    st.caption(t("explore.filters", lang))
    selected: dict[str, list[str]] = {}
    columns = st.columns(min(len(useful), 4))
    for i, label in enumerate(useful):
        part = pairs[pairs["label"] == label].set_index("value")["series"]
        with columns[i % len(columns)]:
            selected[label] = st.multiselect(
                label, part.index.tolist(), format_func=lambda v, p=part: f"{v} ({p[v]})",
                key=f"explore_label_{metric}_{label}",
            )  # fmt: skip
    return selected


def _time_range(now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    choice = st.segmented_control(
        t("explore.range", lang), list(RANGES), default="6h",
        format_func=lambda k: t(f"explore.range.{k}", lang), key="explore_range",
    ) or "6h"  # fmt: skip
    if RANGES[choice] is not None:
        return now - RANGES[choice], now
    left, right = st.columns(2)
    start = left.date_input(t("explore.from", lang), (now - pd.Timedelta(days=1)).date())
    end = right.date_input(t("explore.to", lang), now.date())
    return pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)


def _pick_series(matching: pd.DataFrame) -> pd.DataFrame:
    st.caption(t("explore.matching", lang, n=len(matching)))
    keys = dict(zip(matching["series_id"], matching["series_key"], strict=True))
    # Keyed by the candidates: a new metric or filter starts from a fresh default selection.
    chosen = st.multiselect(
        t("explore.series", lang, n=MAX_SERIES), list(keys), default=list(keys)[:MAX_SERIES],
        format_func=keys.__getitem__, max_selections=MAX_SERIES,
        key=f"explore_series_{zlib.crc32(repr(list(keys)).encode())}",
    )  # fmt: skip
    return matching[matching["series_id"].isin(chosen)]


def _forecast_horizon() -> pd.Timedelta | None:
    picked = st.segmented_control(t("explore.forecast", lang), list(FORECASTS), default="off",
                                  format_func=lambda k: t(f"explore.forecast.{k}", lang),
                                  key="explore_forecast",
                                  help=t("explore.forecast_help", lang)) or "off"  # fmt: skip
    return FORECASTS[picked]


def _charts(chosen: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    ids = chosen["series_id"].tolist()
    horizon = _forecast_horizon()
    forecasts = (series_forecasts(engine.store, ids, horizon) if horizon is not None
                 else None)  # fmt: skip
    window = queries.series_window(engine.store, ids, start, end)
    alerts = queries.alert_intervals(engine.store, ids, start, end)
    incidents = queries.incidents_between(engine.store, start, end)
    resolution = window.attrs.get("resolution", "raw")
    st.caption(t(f"explore.resolution.{resolution}", lang))
    for row in chosen.itertuples(index=False):
        frame = window[window["series_id"] == row.series_id]
        if frame.empty:
            st.caption(f"{row.series_key}: {t('explore.no_points', lang)}")
            continue
        fig = series_with_band(
            frame, row.series_key,
            alerts=alerts[alerts["series_id"] == row.series_id],
            incidents=queries.incidents_touching(incidents, row.series_key, row.service),
            lang=lang,
            forecast=None if forecasts is None
            else forecasts[forecasts["series_id"] == row.series_id],
        )  # fmt: skip
        st.plotly_chart(fig, key=f"explore_chart_{row.series_id}")
    if not incidents.empty:
        st.subheader(t("explore.incidents", lang))
        st.dataframe(incidents[["started_at", "ended_at", "service", "kind", "title"]])
    return window.merge(chosen[["series_id", "series_key"]], on="series_id")


def main() -> None:
    st.title(t("explore.title", lang))
    catalog = _catalog(str(engine.settings.data_dir))
    if catalog.empty:
        st.info(t("explore.no_series", lang))
        return
    metric = _pick_metric(catalog)
    matching = queries.filter_catalog(catalog, metric, _label_filters(metric))
    start, end = _time_range(utc_now())
    if matching.empty:
        st.info(t("explore.no_match", lang))
        return
    chosen = _pick_series(matching)
    shown = _charts(chosen, start, end)
    name = f"vigil-{metric}-{dt.date.today():%Y%m%d}"
    csv, parquet = st.columns([1, 6])
    csv.download_button(t("explore.download", lang), shown.to_csv(index=False).encode(),
                        file_name=f"{name}.csv", mime="text/csv")  # fmt: skip
    parquet.download_button(t("explore.download_parquet", lang), shown.to_parquet(index=False),
                            file_name=f"{name}.parquet",
                            mime="application/vnd.apache.parquet")  # fmt: skip


main()
