"""The root-cause assistant: "why is checkout slow?" answered with evidence.

With a language model configured, within budget and answering, the model explains and
cites while reading Vigil's data only through the read-only tools (at most
``llm_max_tool_rounds`` rounds). Otherwise — none configured, budget or rate limit spent,
the endpoint failing or timing out — the same question gets an evidence-mode answer:
Vigil's own root-cause ranking, similar incidents and runbook passages, labelled as such.
Either way the exchange is kept in the user's conversation and its cost in ``llm_usage``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from knowledge import evidence
from knowledge.answer import Answer, AnswerUsage, mentioned_first, unique
from knowledge.budget import cost, refusal
from knowledge.llm import ChatClient, LLMError, Usage, client_from_settings
from knowledge.prompts import system_prompt, user_prompt
from knowledge.tools import ToolContext, ToolResult, run_tool, tool_schemas
from vigil import chat_store
from vigil.alert_detail import alert_detail
from vigil.chat_store import UsageRecord
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.i18n import LANGUAGES, normalise_language, t
from vigil.rca import rca_as_dict
from vigil.settings import Settings
from vigil.store import Store

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_CITATIONS = 12


class _Fallback(Exception):
    """Stop asking the model; answer with evidence for ``reason``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class Assistant:
    """One per store; ``clock`` says what "now" is (tests pin it inside an incident)."""

    def __init__(self, store: Store, settings: Settings, knowledge: Any | None = None, *,
                 clock: Callable[[], pd.Timestamp] = utc_now,
                 client: ChatClient | None = None) -> None:  # fmt: skip
        self.store, self.settings, self.knowledge, self.clock = store, settings, knowledge, clock
        self.client = client if client is not None else client_from_settings(settings)

    def ask(self, question: str, *, alert_id: str | None = None, session_id: str | None = None,
            username: str = "anonymous", lang: str = "en",
            on_token: Callable[[str], None] | None = None) -> Answer:  # fmt: skip
        """Answer ``question`` (about ``alert_id`` if given) in ``lang``; bad input raises
        :class:`VigilError` before anything is stored."""
        question, lang = " ".join(str(question).split()), normalise_language(lang)
        if not question:
            raise VigilError('ask a question, e.g. "why is checkout slow?"')
        if len(question) > MAX_QUESTION_CHARS:
            raise VigilError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        alert = None
        if alert_id:
            detail = alert_detail(self.store, alert_id)
            if detail is None:
                raise VigilError(f"no alert {alert_id!r}; `vigil alerts list` shows the ids")
            alert = detail["alert"]
        session = chat_store.ensure_session(self.store, session_id, username, question)
        chat_store.add_message(self.store, session, "user", question)
        now = self.clock()
        try:
            answer = self._with_model(question, alert_id, session, username, lang, now, on_token)
        except _Fallback as why:
            answer = self._evidence(question, alert, session, username, lang, now, why)
        chat_store.add_message(
            self.store, session, "assistant", answer.text,
            citations=[c.__dict__ for c in answer.citations], mode=answer.mode,
            reason=answer.reason or None, usage=answer.usage.__dict__,
        )  # fmt: skip
        return answer

    def _with_model(self, question: str, alert_id: str | None, session: str, username: str,
                    lang: str, now: pd.Timestamp,
                    on_token: Callable[[str], None] | None) -> Answer:  # fmt: skip
        if self.client is None:
            raise _Fallback("unconfigured")
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt(now, lang)},
            {"role": "user", "content": user_prompt(question, alert_id)},
        ]
        ctx = ToolContext(self.store, self.settings, self.knowledge, now)
        rounds, total, results = self.settings.llm_max_tool_rounds, Usage(), []
        for round_no in range(rounds + 1):
            # the last request offers no tools: the model must answer with what it has
            offered = round_no < rounds
            turn = self._request(messages, offered, session, username, on_token)
            total = total + turn.usage
            if turn.tool_calls and offered:
                results += self._run_calls(ctx, turn, messages, session)
                continue
            for call in turn.tool_calls:  # asked for after the last round: not run
                chat_store.record_tool_call(self.store, session, call.name, call.arguments,
                                            "refused")  # fmt: skip
            if not turn.text.strip():
                raise _Fallback("failed", f"no answer after {rounds} tool rounds")
            return self._model_answer(turn.text, results, total, session)
        raise AssertionError("unreachable: the last round always returns")

    def _run_calls(self, ctx: ToolContext, turn: Any, messages: list[dict[str, Any]],
                   session: str) -> list[tuple[str, ToolResult]]:  # fmt: skip
        """Run the turn's tool calls; their results go back to the model as tool messages."""
        messages.append({"role": "assistant", "content": turn.text or None, "tool_calls": [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.tool_calls]})  # fmt: skip
        results = []
        for call in turn.tool_calls:
            result = run_tool(ctx, call.name, call.arguments)
            chat_store.record_tool_call(self.store, session, call.name, call.arguments,
                                        result.outcome)  # fmt: skip
            if result.outcome == "refused":
                log.warning("assistant refused a tool call: %s", call.name[:80])
            results.append((call.name, result))
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": result.content})  # fmt: skip
        return results

    def _request(self, messages: list[dict[str, Any]], offer_tools: bool, session: str,
                 username: str, on_token: Callable[[str], None] | None) -> Any:  # fmt: skip
        """One model request, after the budget and rate limit allow it; recorded either way."""
        why = refusal(self.store, self.settings, utc_now())
        if why is not None:
            raise _Fallback(why)
        model = self.client.model
        try:
            turn = self.client.chat(messages, tool_schemas() if offer_tools else None, on_token)
        except LLMError as exc:
            chat_store.record_usage(self.store, UsageRecord(
                session, username, model, 0, 0, 0.0, "llm", exc.kind))  # fmt: skip
            log.warning("assistant falls back to evidence mode: %s", exc)
            raise _Fallback("failed", str(exc)) from None
        chat_store.record_usage(self.store, UsageRecord(
            session, username, model, turn.usage.prompt_tokens, turn.usage.completion_tokens,
            cost(turn.usage, self.settings), "llm", "ok", turn.usage.estimated))  # fmt: skip
        return turn

    def _model_answer(self, text: str, results: list[tuple[str, ToolResult]], usage: Usage,
                      session: str) -> Answer:  # fmt: skip
        spent = AnswerUsage(usage.prompt_tokens, usage.completion_tokens,
                            cost(usage, self.settings), usage.estimated)  # fmt: skip
        cites = [c for _, result in results for c in result.citations]
        rankings = [r.data for name, r in results if name == "rank_root_causes" and r.data]
        ordered = mentioned_first(unique(cites), text)[:MAX_CITATIONS]
        return Answer(text.strip(), ordered, "llm", "", spent, session,
                      rca=rankings[-1] if rankings else None)  # fmt: skip

    def _evidence(self, question: str, alert: dict[str, Any] | None, session: str,
                  username: str, lang: str, now: pd.Timestamp,
                  why: _Fallback) -> Answer:  # fmt: skip
        found = evidence.gather_evidence(self.store, self.settings, self.knowledge, question,
                                         alert=alert, now=now, lang=lang)  # fmt: skip
        reason_text = t(f"assistant.reason.{why.reason}", lang, detail=why.detail)
        text, cites = evidence.compose(found, lang, reason_text)
        chat_store.record_usage(self.store, UsageRecord(
            session, username, None, 0, 0, 0.0, "evidence", why.reason))  # fmt: skip
        return Answer(text, unique(cites)[:MAX_CITATIONS], "evidence", why.reason, AnswerUsage(),
                      session, evidence.candidates(found),
                      None if found.rca is None else rca_as_dict(found.rca))  # fmt: skip


def answer_json(answer: Answer) -> str:
    return json.dumps(answer.as_dict(), ensure_ascii=False, default=str)


def ask_request(store: Store, settings: Settings, knowledge: Any | None,
                request: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """``vigil ask`` and the engine's ``POST /api/v1/ask``: a JSON request (question,
    alert_id, lang, username, session_id) in, the answer as JSON out; a malformed request
    is a :class:`VigilError` and nothing is stored."""
    question, alert_id = request.get("question"), request.get("alert_id")
    if not isinstance(question, str):
        raise VigilError("question must be text")
    if alert_id is not None and not isinstance(alert_id, str):
        raise VigilError("alert_id must be text")
    lang = request.get("lang") or settings.language
    if lang not in LANGUAGES:
        raise VigilError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    session = request.get("session_id")
    answer = Assistant(store, settings, knowledge).ask(
        question, alert_id=alert_id or None, lang=lang,
        session_id=session if isinstance(session, str) else None,
        username=str(request.get("username") or "anonymous")[:100],
    )  # fmt: skip
    return answer.as_dict()


def engine_assistant(engine: Any) -> Assistant:
    """The assistant over an engine's store and knowledge base (without runbooks when the
    knowledge base cannot open: the ranking is still worth giving)."""
    try:
        knowledge = engine.knowledge
    except Exception:
        log.exception("knowledge base unavailable")
        knowledge = None
    return Assistant(engine.store, engine.settings, knowledge)
