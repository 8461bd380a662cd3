"""What the Alerts page shows around one alert so a responder need not go looking: the
likeliest root causes (ranked without a language model), past incidents like it with
their fixes, a way to record this one's cause and fix, and a way into the assistant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import streamlit as st

from vigil.errors import VigilError
from vigil.i18n import format_time, t

if TYPE_CHECKING:
    from vigil.actions import Actions
    from vigil.engine import Engine

MAX_CAUSE_CHARTS = 3


def similar_text(alert: dict[str, Any]) -> str:
    """What a past incident like this alert would say: its name, summary and service."""
    labels, notes = alert["labels"], alert["annotations"]
    parts = [labels.get("alertname", alert["rule_id"]), notes.get("summary", ""),
             notes.get("description", ""), alert.get("service") or ""]  # fmt: skip
    return " ".join(p for p in parts if p)


def likely_causes(engine: Engine, alert: dict[str, Any], lang: str) -> None:
    """The root-cause ranking for the alert's moment, as charts: the ranking, then the
    top candidate series with their baseline bands and onsets."""
    from vigil.rca import root_causes
    from vigil.rca_charts import candidate_chart, ranking_chart, reason_text

    st.markdown(f"#### {t('alerts.causes', lang)}")
    try:
        result = root_causes(engine.store, engine.settings, alert_id=alert["alert_id"])
    except VigilError as exc:
        st.caption(str(exc))
        return
    if not result.services:
        st.caption(t("alerts.no_causes", lang))
        return
    st.plotly_chart(ranking_chart(result, lang), key="alert_causes")
    for service in result.services[:MAX_CAUSE_CHARTS]:
        st.markdown(f"**{service.rank}. {service.service}** · {reason_text(service, result, lang)}")
    for candidate in result.series[:MAX_CAUSE_CHARTS]:
        st.plotly_chart(candidate_chart(engine.store, candidate, result, lang),
                        key=f"alert_cause_{candidate.series_id}")  # fmt: skip


def similar_incidents(engine: Engine, alert: dict[str, Any], lang: str) -> None:
    """Past incidents most like this alert, each with what caused it and what fixed it."""
    st.markdown(f"#### {t('alerts.similar', lang)}")
    own = f"alert-{alert['alert_id']}"
    hits = [h for h in engine.knowledge.similar_incidents(similar_text(alert), k=4)
            if h.source != own][:3]  # fmt: skip
    if not hits:
        st.caption(t("alerts.no_similar", lang))
        return
    for hit in hits:
        title = hit.extra.get("title") or hit.section or hit.source
        when = hit.extra.get("resolved_at")
        st.markdown(f"[{title}]({hit.link.lstrip('/')})"
                    + (f" · {format_time(when, with_date=True)}" if when else ""))  # fmt: skip
        st.markdown(t("alerts.similar_note", lang, cause=hit.extra.get("cause", "—"),
                      fix=hit.extra.get("fix", "—")))  # fmt: skip


def note_form(engine: Engine, actions: Actions, alert: dict[str, Any], lang: str) -> None:
    """Resolve (or, once resolved, annotate) with cause and fix: the next similar alert
    will list them."""
    with st.form("alert_note"):
        st.markdown(f"**{t('alerts.note', lang)}**")
        cause = st.text_area(t("alerts.note_cause", lang), key="note_cause")
        fix = st.text_area(t("alerts.note_fix", lang), key="note_fix")
        if not st.form_submit_button(t("alerts.note_button", lang)):
            return
    try:
        incident = actions.note(alert["alert_id"], cause, fix)
    except VigilError as exc:
        st.error(str(exc))
        return
    try:
        engine.reindex_incidents()
    except Exception as exc:  # the job catches up later; the note itself is stored
        st.warning(t("alerts.note_not_indexed", lang, error=exc))
    st.success(t("alerts.noted", lang, incident=incident))


def assistant_link(alert: dict[str, Any], lang: str) -> str:
    return f"assistant?alert={quote(alert['alert_id'], safe='')}&lang={lang}"
