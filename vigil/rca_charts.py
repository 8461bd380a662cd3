"""Plotly figures and words for root-cause candidates: the evidence behind each rank.

A responder trusts a ranking they can check: each candidate's series is drawn against its
baseline band with its onset marked, and the ranking as a timeline of onsets per service
(earliest left, best rank on top, coloured by score), so "upstream went first" is visible
rather than asserted.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.rca import SeriesCandidate, ServiceCandidate
from vigil.charts import ANOMALY_COLOUR, BACKGROUND, TEMPLATE, series_with_band
from vigil.i18n import format_time, t
from vigil.queries import series_window
from vigil.rca import RcaResult
from vigil.store import Store

ONSET_COLOUR = "#f59e0b"
CONTEXT_SHARE = 0.5
"""How much of the window is drawn before it, so the chart shows what normal looked like."""


def _series_of(store: Store, candidate: SeriesCandidate | ServiceCandidate,
               result: RcaResult) -> SeriesCandidate | None:  # fmt: skip
    """The series to draw: the candidate itself, or a service's best series."""
    if isinstance(candidate, SeriesCandidate):
        return candidate
    for series in result.series:
        if series.series_key in candidate.series:
            return series
    if not candidate.series:
        return None
    row = store.df("SELECT series_id, metric FROM series WHERE series_key = ?",
                   [candidate.series[0]])  # fmt: skip
    if row.empty:
        return None
    return SeriesCandidate(int(row["series_id"].iloc[0]), candidate.series[0],
                           str(row["metric"].iloc[0]), candidate.service, candidate.onset,
                           candidate.score, candidate.strength, candidate.rank,
                           candidate.silent)  # fmt: skip


def candidate_chart(
    store: Store,
    candidate: SeriesCandidate | ServiceCandidate,
    result: RcaResult,
    lang: str = "en",
    height: int = 320,
) -> go.Figure:
    """The candidate's series around the window against its band, its onset marked."""
    series = _series_of(store, candidate, result)
    span = result.at - result.window_start
    start = result.window_start - span * CONTEXT_SHARE
    frame = (
        series_window(store, [series.series_id], start, result.at)
        if series is not None
        else pd.DataFrame(columns=["ts", "value"])
    )
    title = series.series_key if series is not None else str(getattr(candidate, "service", ""))
    fig = series_with_band(frame, title, lang=lang, height=height)
    if series is None:
        return fig
    label = "rca.stopped" if series.silent else "rca.onset"
    fig.add_vline(x=series.onset, line={"color": ONSET_COLOUR, "width": 2, "dash": "dash"})
    fig.add_annotation(x=series.onset, y=1, yref="paper", showarrow=False, xanchor="left",
                       text=t(label, lang, time=format_time(series.onset)),
                       font={"color": ONSET_COLOUR, "size": 11})  # fmt: skip
    fig.add_vrect(x0=start, x1=result.window_start, fillcolor="rgba(128,128,128,0.12)",
                  line_width=0, layer="below")  # fmt: skip
    return fig


def ranking_chart(result: RcaResult, lang: str = "en", height: int | None = None) -> go.Figure:
    """A timeline of the ranked services: a bar from each onset to the asked moment, best
    rank on top, coloured by peak score, the reason on hover."""
    services = sorted(result.services, key=lambda s: s.rank)
    labels = [f"{s.rank}. {s.service}" for s in services]
    onsets = [s.onset for s in services]
    spans = [max((result.at - s.onset).total_seconds(), 60.0) * 1000 for s in services]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=spans,
            base=onsets,
            orientation="h",
            marker={
                "color": [s.score for s in services],
                "colorscale": "YlOrRd",
                "cmin": 0.5,
                "cmax": 1.0,
                "line": {"width": 0},
                "colorbar": {"title": {"text": t("rca.score", lang)}, "thickness": 10},
            },
            customdata=[
                [format_time(s.onset), s.score, reason_text(s, result, lang)] for s in services
            ],
            hovertemplate="%{y}<br>"
            + t("rca.onset", lang, time="%{customdata[0]}")
            + "<br>"
            + t("rca.score", lang)
            + " %{customdata[1]:.2f}<br>%{customdata[2]}"
            + "<extra></extra>",
        )
    )
    fig.add_vline(x=result.at, line={"color": ANOMALY_COLOUR, "width": 1, "dash": "dot"})
    fig.update_layout(
        template=TEMPLATE, paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND,
        height=height or 120 + 34 * max(len(services), 1),
        title={"text": t("rca.timeline", lang) if services else t("rca.none", lang),
               "font": {"size": 14}},
        margin={"l": 40, "r": 10, "t": 40, "b": 30}, showlegend=False,
        xaxis={"type": "date", "range": [result.window_start, result.at]},
        yaxis={"autorange": "reversed"},
    )  # fmt: skip
    return fig


def reason_text(candidate: ServiceCandidate, result: RcaResult, lang: str = "en") -> str:
    """The candidate's reason in the reader's language (the ranking's own is English)."""
    when = pd.Timestamp(candidate.onset).strftime("%H:%M")
    if candidate.downstream_of:
        return t("rca.reason.after", lang, time=when, services=", ".join(candidate.downstream_of))
    earliest = min((s.onset for s in result.services), default=candidate.onset)
    kind = "stopped" if candidate.silent else "anomalous"
    first = "first" if candidate.onset <= earliest else "from"
    text = t(f"rca.reason.{kind}_{first}", lang, time=when)
    if candidate.upstream_of:
        text += t("rca.reason.upstream", lang, services=", ".join(candidate.upstream_of))
    return text
