"""Alerts: the list, and one alert's page (``?alert=ID``, where notifications link to):
its labels and annotations, its transitions, and every notification that carried it with
each attempt to deliver it. Acknowledge and resolve from here.
"""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st

from vigil.actions import Actions
from vigil.alert_context import assistant_link, likely_causes, note_form, similar_incidents
from vigil.alert_detail import alert_detail
from vigil.alert_groups import active_since, group_alerts
from vigil.alert_list import list_alerts
from vigil.alert_views import silence_form, why_it_fired
from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.errors import VigilError
from vigil.i18n import LANG_STATE_KEY, t
from vigil.notification_charts import alerts_by_service, delivery_timeline
from vigil.page_shell import ensure_shell
from vigil.session import current_principal

ensure_shell("alerts")
engine = get_engine()
store = engine.store
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
actions = Actions(engine, current_principal())
STATES = ("firing", "pending", "resolved")
LIST_COLUMNS = ("state", "severity", "service", "alertname", "since", "alert_id")
RANGES = {"1h": pd.Timedelta(hours=1), "24h": pd.Timedelta(hours=24),
          "7d": pd.Timedelta(days=7), "all": None}  # fmt: skip


def _alert_list() -> None:
    states = st.multiselect(t("alerts.states", lang), STATES, default=["firing", "pending"],
                            format_func=lambda s: t(f"alerts.state.{s}", lang))  # fmt: skip
    alerts = list_alerts(store, list(states), engine.settings.parsed_inhibit_rules())
    if not alerts:
        st.info(t("alerts.none", lang))
        return
    frame = pd.DataFrame([{**a, "alertname": a["labels"].get("alertname", a["rule_id"]),
                           "since": a["fired_at"] or a["active_at"],
                           "service": a["service"] or "—"} for a in alerts])  # fmt: skip
    frame = _filtered(frame)
    st.plotly_chart(alerts_by_service(frame, lang), key="alerts_by_service")
    named = {c: t(f"alerts.col.{c}", lang) for c in LIST_COLUMNS}
    if st.toggle(t("alerts.grouped", lang), key="alerts_grouped",
                 help=t("alerts.grouped_help", lang)):  # fmt: skip
        for group in group_alerts(frame, engine.settings.group_by):
            title = t("alerts.group", lang, label=group.label, n=len(group.alerts),
                      open=group.open, worst=group.worst)  # fmt: skip
            with st.expander(title, expanded=group.open > 0):
                st.dataframe(group.alerts[list(LIST_COLUMNS)].rename(columns=named),
                             hide_index=True)  # fmt: skip
    else:
        st.dataframe(frame[list(LIST_COLUMNS)].rename(columns=named), hide_index=True)
    chosen = st.selectbox(t("alerts.open", lang), frame["alert_id"], index=None)
    if chosen:
        st.query_params["alert"] = chosen
        st.rerun()


def _filtered(frame: pd.DataFrame) -> pd.DataFrame:
    """Time range, severity, service and rule filters over what the state filter left."""
    span = st.segmented_control(t("alerts.range", lang), list(RANGES), default="all",
                                format_func=lambda k: t(f"search.range.{k}", lang),
                                key="alerts_range") or "all"  # fmt: skip
    if RANGES[span] is not None:
        frame = active_since(frame, utc_now() - RANGES[span])
    columns = st.columns(3)
    for column, (field, label) in zip(columns, (("severity", "alerts.col.severity"),
                                                ("service", "alerts.col.service"),
                                                ("alertname", "alerts.col.alertname")),
                                      strict=True):  # fmt: skip
        picked = column.multiselect(t(label, lang), sorted(frame[field].astype(str).unique()),
                                    key=f"alerts_filter_{field}")  # fmt: skip
        if picked:
            frame = frame[frame[field].astype(str).isin(picked)]
    return frame


def _actions(alert: dict) -> None:
    if alert["state"] == "resolved":
        return
    comment = st.text_input(t("alerts.comment", lang), key="alert_comment")
    ack, resolve, _ = st.columns([1, 1, 4])
    for column, action in ((ack, "acknowledge"), (resolve, "resolve")):
        if column.button(t(f"alerts.{action}", lang), key=f"alert_{action}"):
            try:
                act = actions.acknowledge if action == "acknowledge" else actions.resolve
                act(alert["alert_id"], comment)
            except VigilError as exc:
                st.error(str(exc))
            else:
                st.rerun()


def _detail(alert_id: str) -> None:
    if st.button(t("alerts.back", lang)):
        del st.query_params["alert"]
        st.rerun()
    found = alert_detail(store, alert_id)
    if found is None:
        st.error(t("alerts.missing", lang, alert=alert_id))
        return
    alert = found["alert"]
    name = alert["labels"].get("alertname", alert["rule_id"])
    state = t(f"alerts.state.{alert['state']}", lang)
    st.subheader(f"{name} · {state}")
    summary = alert["annotations"].get("summary")
    if summary:
        st.markdown(f"**{summary}**")
    why_it_fired(store, alert, lang)
    st.markdown(f"[{t('alerts.ask', lang)}]({assistant_link(alert, lang)})")
    likely_causes(engine, alert, lang)
    similar_incidents(engine, alert, lang)
    left, right = st.columns(2)
    left.json(alert["labels"])
    right.json(alert["annotations"])
    if alert.get("generator_url"):
        st.markdown(f"[{t('alerts.source', lang)}]({alert['generator_url']})")
    elif alert.get("source", "vigil") == "vigil":
        link = f"rules?rule={quote(alert['rule_id'])}&lang={lang}"
        st.markdown(f"[{t('alerts.edit_rule', lang, rule=alert['rule_id'])}]({link})")
    _actions(alert)
    if alert["state"] != "resolved":
        silence_form(actions, alert, lang)
    note_form(engine, actions, alert, lang)
    st.markdown(f"#### {t('alerts.history', lang)}")
    events = found["events"].rename(columns={c: t(f"alerts.event.{c}", lang)
                                             for c in found["events"].columns})  # fmt: skip
    st.dataframe(events, hide_index=True)
    notes = found["notifications"]
    st.markdown(f"#### {t('alerts.notifications', lang, n=len(notes))}")
    if not notes:
        st.caption(t("alerts.no_notifications", lang))
        return
    st.plotly_chart(delivery_timeline(notes, lang), key="delivery")
    for note in notes:
        label = f"{note['receiver']} · {note['notification_id']} · {note['status']}"
        with st.expander(label):
            if note["last_error"]:
                st.error(note["last_error"])
            st.dataframe(pd.DataFrame(note["attempt_log"]), hide_index=True)


st.title(t("alerts.title", lang))
wanted = st.query_params.get("alert")
if wanted:
    _detail(wanted)
else:
    _alert_list()
