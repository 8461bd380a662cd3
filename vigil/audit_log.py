"""Reading the audit log: filtered by who, what and when, for the admin page and export.

The app only ever appends to ``audit_log`` (:func:`vigil.audit.record`); nothing here or
anywhere else updates or deletes its rows.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from vigil.i18n import t
from vigil.store import Store

AUDIT_COLUMNS = ["ts", "actor", "action", "target", "before", "after"]
MAX_ROWS = 5000


def audit_entries(
    store: Store, start: pd.Timestamp | None = None, actor: str = "", action: str = "",
    text: str = "", limit: int = MAX_ROWS,
) -> pd.DataFrame:  # fmt: skip
    """Entries newest first; ``actor`` and ``action`` match exactly when given (``action``
    may be a prefix such as ``rule.``), ``text`` anywhere in target, before or after."""
    where, params = ["TRUE"], []
    if start is not None:
        where.append("ts >= ?")
        params.append(pd.Timestamp(start).to_pydatetime())
    if actor.strip():
        where.append("actor = ?")
        params.append(actor.strip())
    if action.strip():
        where.append("starts_with(action, ?)")
        params.append(action.strip())
    if text.strip():
        where.append("contains(lower(coalesce(target, '') || ' ' || coalesce(before, '') || "
                     "' ' || coalesce(after, '')), lower(?))")  # fmt: skip
        params.append(text.strip())
    params.append(max(1, min(int(limit), MAX_ROWS)))
    return store.df(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log "
                    f"WHERE {' AND '.join(where)} ORDER BY ts DESC, audit_id DESC LIMIT ?",
                    params)  # fmt: skip


def audit_chart(entries: pd.DataFrame, lang: str) -> go.Figure:
    """Changes per hour, one bar colour per kind of action (rule, alert, login, ...)."""
    figure = go.Figure()
    if not entries.empty:
        kinds = entries["action"].str.split(".").str[0]
        hours = pd.to_datetime(entries["ts"]).dt.floor("h")
        counts = pd.crosstab(hours, kinds)
        for kind in counts.columns:
            figure.add_bar(x=counts.index, y=counts[kind], name=kind)
    figure.update_layout(title=t("admin.audit_chart", lang), barmode="stack", height=260,
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})  # fmt: skip
    return figure
