"""Parts of the Alerts page that draw and act: the chart of why an alert fired, and the
silence form prefilled from its labels. Kept out of the page so it stays a page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from analytics.silences import Matcher
from vigil.alert_evidence import alert_evidence
from vigil.charts import series_with_band
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.i18n import t
from vigil.store import Store

if TYPE_CHECKING:
    from vigil.actions import Actions

SILENCE_FOR = ("1h", "2h", "4h", "12h", "1d", "7d")
# The labels that say which alert and where; a silence on them mutes this alert's kind
# on this target without muting the whole service.
PREFILL = ("alertname", "service", "instance", "job")


def why_it_fired(store: Store, alert: dict[str, Any], lang: str) -> None:
    evidence = alert_evidence(store, alert, utc_now())
    if evidence is None:
        st.caption(t("alerts.no_series", lang))
        return
    fig = series_with_band(evidence.frame, evidence.title, alerts=evidence.intervals,
                           lang=lang, height=360)  # fmt: skip
    if evidence.threshold is not None:
        fig.add_hline(y=evidence.threshold, line={"color": "#ff4d4f", "dash": "dash"},
                      annotation_text=t("rules.threshold", lang),
                      annotation_font_color="#ff4d4f")  # fmt: skip
    st.plotly_chart(fig, key="alert_evidence")


def prefilled_matchers(labels: dict[str, str]) -> list[str]:
    chosen = [name for name in PREFILL if labels.get(name)] or sorted(labels)
    return [str(Matcher(name, "=", str(labels[name]))) for name in chosen]


def silence_form(actions: Actions, alert: dict[str, Any], lang: str) -> None:
    with st.form("alert_silence"):
        st.markdown(f"**{t('alerts.silence', lang)}**")
        text = st.text_area(t("alerts.silence_matchers", lang),
                            "\n".join(prefilled_matchers(alert["labels"])),
                            key="silence_matchers")  # fmt: skip
        duration = st.selectbox(t("alerts.silence_for", lang), SILENCE_FOR, index=1,
                                key="silence_for")  # fmt: skip
        comment = st.text_input(t("alerts.comment", lang), key="silence_comment")
        if not st.form_submit_button(t("alerts.silence_button", lang)):
            return
    matchers = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        made = actions.silence({"matchers": matchers, "duration": duration,
                                "comment": comment})  # fmt: skip
    except VigilError as exc:
        st.error(str(exc))
        return
    st.success(t("alerts.silenced", lang, until=made["ends_at"]))
