"""A chart for each series an answer cites, so the responder sees the evidence, not just
its name: with the root-cause ranking behind the answer, the series as the ranking saw it
(band, onset, window); without it (an older message), the hour and a half before."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.rca import SeriesCandidate
from knowledge.answer import Citation
from vigil.charts import series_with_band
from vigil.queries import series_window
from vigil.rca import RcaResult
from vigil.rca_charts import candidate_chart
from vigil.store import Store

PLAIN_WINDOW = pd.Timedelta(minutes=90)


def _candidate(rca: dict[str, Any], series_id: int) -> SeriesCandidate | None:
    for s in rca.get("series", []):
        if s["series_id"] == series_id:
            return SeriesCandidate(int(s["series_id"]), s["series_key"], s["metric"],
                                   s["service"], pd.Timestamp(s["onset"]), float(s["score"]),
                                   float(s["strength"]), int(s["rank"]),
                                   bool(s.get("silent", False)))  # fmt: skip
    return None


def citation_chart(store: Store, citation: Citation, lang: str, *, at: pd.Timestamp,
                   rca: dict[str, Any] | None = None, height: int = 260) -> go.Figure:  # fmt: skip
    """The cited series (``citation.series_id`` must be set) around the answer's time."""
    candidate = _candidate(rca, int(citation.series_id)) if rca else None
    if candidate is not None and rca is not None:
        result = RcaResult(pd.Timestamp(rca["at"]), pd.Timestamp(rca["window_start"]),
                           rca.get("alert_id"), [], [candidate])  # fmt: skip
        return candidate_chart(store, candidate, result, lang, height=height)
    frame = series_window(store, [int(citation.series_id)], at - PLAIN_WINDOW, at)
    return series_with_band(frame, citation.title, lang=lang, height=height)
