"""The root-cause assistant: ask "why is checkout slow?" and get the likely cause, its
evidence (charts of the cited series), similar incidents and runbook steps, streamed as
they come. ``?alert=ID`` (the alerts page links here) asks about that alert. Without a
language model the answer is the labelled evidence-mode answer, never an error page."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from knowledge.answer import Answer, Citation
from knowledge.answer_charts import citation_chart
from knowledge.assistant import engine_assistant
from vigil.alert_detail import alert_detail
from vigil.chat_store import session_messages, usage_since, user_sessions
from vigil.clock import utc_now
from vigil.engine import get_engine
from vigil.errors import VigilError
from vigil.i18n import LANG_STATE_KEY, format_time, t
from vigil.markdown import escape_markdown as _md
from vigil.page_shell import ensure_shell
from vigil.session import current_principal

ensure_shell("assistant")
engine = get_engine()
lang: str = st.session_state.get(LANG_STATE_KEY, engine.settings.language)
user: str = getattr(current_principal(), "name", "anonymous")
SESSION_KEY = "assistant_session"
CHARTS_PER_ANSWER = 3


def _mode(mode: str | None, reason: str | None) -> None:
    if mode == "evidence":
        why = t(f"assistant.reason.{reason or 'unconfigured'}", lang, detail="…")
        st.caption(f":material/fact_check: **{t('assistant.mode.evidence', lang)}** · {why}")
    elif mode == "llm":
        st.caption(":material/smart_toy: " + t("assistant.mode.llm", lang,
                                               model=engine.settings.llm_model))  # fmt: skip


def _citations(cites: list[dict[str, Any]], at: pd.Timestamp, rca: dict | None,
               key: str) -> None:  # fmt: skip
    if not cites:
        return
    lines = []
    for n, c in enumerate(cites, start=1):
        kind, title = t(f"assistant.cite.{c['kind']}", lang), _md(str(c["title"]))
        lines.append(f"{n}. {kind}: [{title}]({c['link']})" if c.get("link")
                     else f"{n}. {kind}: {title}")  # fmt: skip
    st.markdown(f"**{t('assistant.citations', lang)}**\n\n" + "\n".join(lines))
    charted = [c for c in cites if c["kind"] == "series" and c.get("series_id") is not None]
    for c in charted[:CHARTS_PER_ANSWER]:
        fig = citation_chart(engine.store, Citation(**c), lang, at=at, rca=rca)
        st.plotly_chart(fig, key=f"{key}_chart_{c['series_id']}")


def _usage(usage: dict[str, Any] | None) -> None:
    if usage and (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        text = t("assistant.usage", lang, prompt=usage["prompt_tokens"],
                 completion=usage["completion_tokens"], cost=f"{usage['cost']:.4f}")  # fmt: skip
        st.caption(text + (t("assistant.usage.estimated", lang) if usage.get("estimated") else ""))


def _message(m: dict[str, Any], key: str) -> None:
    with st.chat_message(m["role"]):
        if m["role"] == "assistant":
            _mode(m.get("mode"), m.get("reason"))
        st.markdown(m["content"])
        if m["role"] == "assistant":
            _citations(m.get("citations") or [], pd.Timestamp(m["ts"]), None, key)
            _usage(m.get("usage"))


def _history() -> None:
    st.sidebar.subheader(t("assistant.history", lang))
    if st.sidebar.button(t("assistant.new_chat", lang), icon=":material/add:"):
        st.session_state.pop(SESSION_KEY, None)
    sessions = user_sessions(engine.store, user)
    if sessions.empty:
        st.sidebar.caption(t("assistant.no_history", lang))
    for row in sessions.itertuples(index=False):
        label = f"{row.title} · {format_time(row.last_ts, with_date=True)}"
        if st.sidebar.button(label, key=f"session_{row.session_id}", type="tertiary"):
            st.session_state[SESSION_KEY] = row.session_id


def _alert_id() -> str | None:
    wanted = st.query_params.get("alert")
    if not wanted:
        return None
    if alert_detail(engine.store, wanted) is None:
        st.warning(t("assistant.no_alert", lang, alert=wanted))
        return None
    st.info(t("assistant.about_alert", lang, alert=wanted), icon=":material/notifications:")
    if st.session_state.get("assistant_alert") != wanted:  # a new alert: a new conversation
        st.session_state["assistant_alert"] = wanted
        st.session_state.pop(SESSION_KEY, None)
    return wanted


def _ask(question: str, alert_id: str | None) -> None:
    _message({"role": "user", "content": question}, "pending")
    with st.chat_message("assistant"):
        shown = st.empty()
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            streamed.append(piece)
            shown.markdown("".join(streamed) + " ▌")

        with st.spinner(t("assistant.thinking", lang)):
            try:
                answer: Answer = engine_assistant(engine).ask(
                    question, alert_id=alert_id, session_id=st.session_state.get(SESSION_KEY),
                    username=user, lang=lang, on_token=on_token,
                )  # fmt: skip
            except VigilError as exc:
                shown.error(t("assistant.error", lang, error=str(exc)))
                return
        st.session_state[SESSION_KEY] = answer.session_id
        shown.empty()
        _mode(answer.mode, answer.reason)
        st.markdown(answer.text)
        _citations([c.__dict__ for c in answer.citations], utc_now(), answer.rca, "live")
        _usage(answer.usage.__dict__)


def main() -> None:
    st.title(t("assistant.title", lang))
    st.caption(t("assistant.caption", lang))
    alert_id = _alert_id()
    _history()
    session = st.session_state.get(SESSION_KEY)
    for n, m in enumerate(session_messages(engine.store, session, user) if session else []):
        _message(m, f"m{n}")
    question = st.chat_input(t("assistant.input", lang))
    if question:
        _ask(question, alert_id)
    day = usage_since(engine.store, utc_now().floor("D"))
    tokens = day["prompt_tokens"] + day["completion_tokens"]
    budget = engine.settings.llm_daily_token_budget
    st.caption(t("assistant.usage_today", lang, tokens=tokens, budget=budget,
                 cost=f"{day['cost']:.4f}"))  # fmt: skip


main()
