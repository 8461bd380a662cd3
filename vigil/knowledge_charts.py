"""What the knowledge base holds, as a chart: passages per document, by kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from vigil.i18n import t

KIND_COLOURS = {"runbook": "#4e79a7", "upload": "#f28e2b", "incident": "#59a14f"}


def documents_chart(documents: Sequence[Any], lang: str) -> go.Figure:
    """One horizontal bar per document (``knowledge.records.DocumentInfo``), its length in
    passages, coloured by kind, so what is thin or missing stands out."""
    figure = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        mine = [d for d in documents if d.kind == kind]
        if mine:
            figure.add_bar(
                y=[d.source for d in mine], x=[d.chunks for d in mine], orientation="h",
                name=t(f"knowledge.kind.{kind}", lang), marker_color=colour,
                hovertemplate="%{y}: %{x}<extra></extra>",
            )  # fmt: skip
    height = max(220, 22 * len(documents) + 80)
    figure.update_layout(
        title=t("knowledge.chart", lang), height=height, barmode="stack",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title=t("knowledge.passages", lang), yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.15},
    )  # fmt: skip
    return figure
