"""The assistant against a real OpenAI-compatible server on loopback and a real store:
tool results go back to the model, rounds are bounded, budgets and rate limits hold from
what the database recorded, a failing model gives an evidence answer, conversations
belong to their user, and bad input changes nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from knowledge.assistant import Assistant
from knowledge.base import KnowledgeBase
from tests.knowledge.test_assistant_support import (
    estate_settings,
    open_knowledge,
    runbooks_dir,
    seeded_estate,
    table_fingerprints,
)
from tests.llm_server import DEFAULT_KEY, OpenAIServer, Scripted
from vigil import chat_store
from vigil.errors import VigilError
from vigil.store import Store

PAYMENTS_SLOW = "why is payments slow?"


@dataclass
class Estate:
    data_dir: Path
    runbooks: Path
    now: pd.Timestamp
    store: Store
    knowledge: KnowledgeBase

    def assistant(self, server: OpenAIServer | None = None, **settings: object) -> Assistant:
        if server is not None:
            settings |= {"llm_base_url": server.base_url, "llm_api_key": DEFAULT_KEY}
        config = estate_settings(self.data_dir, self.runbooks, **settings)
        return Assistant(self.store, config, self.knowledge, clock=lambda: self.now)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Timestamp]:
    """A closed data dir with the estate and its knowledge base indexed, to copy per test."""
    tmp = tmp_path_factory.mktemp("assistant")
    data_dir, now = seeded_estate(tmp)
    settings = estate_settings(data_dir, runbooks_dir(tmp))
    store = Store.open(data_dir)
    open_knowledge(settings, store).close()
    store.close()
    return tmp, now


@pytest.fixture
def estate(prepared: tuple[Path, pd.Timestamp], tmp_path: Path) -> Iterator[Estate]:
    source, now = prepared
    shutil.copytree(source / "data", tmp_path / "data")
    shutil.copytree(source / "runbooks", tmp_path / "runbooks")
    store = Store.open(tmp_path / "data")
    settings = estate_settings(tmp_path / "data", tmp_path / "runbooks")
    kb = KnowledgeBase.open(settings)
    yield Estate(tmp_path / "data", tmp_path / "runbooks", now, store, kb)
    kb.close()
    store.close()


def _chat_requests(server: OpenAIServer) -> list[dict]:
    return [r.body or {} for r in server.requests if r.path == "/v1/chat/completions"]


def test_tool_results_reach_the_model_and_the_answer_cites_them(estate: Estate) -> None:
    calls = (("rank_root_causes", {"at": "now", "service": "payments", "lookback_minutes": 30}),
             ("search_knowledge", {"query": "payments latency"}))  # fmt: skip
    script = [Scripted(tool_calls=calls), Scripted("Payments is slow: see the ranking.")]
    streamed: list[str] = []
    with OpenAIServer(script=script) as server:
        answer = estate.assistant(server).ask(PAYMENTS_SLOW, on_token=streamed.append)
    first, second = _chat_requests(server)
    assert first["tools"] and first["stream"] is True
    assistant_turn, *tool_messages = second["messages"][2:]
    ids = [c["id"] for c in assistant_turn["tool_calls"]]
    assert [m["tool_call_id"] for m in tool_messages] == ids and len(ids) == 2
    ranking = json.loads(tool_messages[0]["content"])
    assert ranking["services"][0]["service"] == "payments"
    assert json.loads(tool_messages[1]["content"])["hits"]
    assert answer.mode == "llm" and answer.text == "Payments is slow: see the ranking."
    assert "".join(streamed) == answer.text
    kinds = {c.kind for c in answer.citations}
    assert {"series", "runbook"} <= kinds
    assert any(c.series_id == 2 for c in answer.citations)
    assert answer.usage.prompt_tokens > 0 and answer.usage.cost > 0
    used = estate.store.df("SELECT mode, outcome, prompt_tokens FROM llm_usage")
    assert list(used["mode"]) == ["llm", "llm"] and used["prompt_tokens"].sum() == (
        answer.usage.prompt_tokens
    )


def test_what_the_answer_names_is_cited_first(estate: Estate) -> None:
    calls = (("list_alerts", {}), ("search_knowledge", {"query": "mysql slow queries"}))
    script = [Scripted(tool_calls=calls), Scripted("Follow MysqlSlowQueries in the runbook.")]
    with OpenAIServer(script=script) as server:
        answer = estate.assistant(server).ask(PAYMENTS_SLOW)
    assert answer.citations[0].kind == "runbook"
    assert answer.citations[0].title.endswith("MysqlSlowQueries")
    assert {c.kind for c in answer.citations[1:]} >= {"alert", "runbook"}


def test_the_tool_loop_stops_after_the_configured_rounds(estate: Estate) -> None:
    loop = Scripted(tool_calls=(("list_alerts", {}),))
    with OpenAIServer(script=[loop, loop, Scripted("done")]) as server:
        answer = estate.assistant(server, llm_max_tool_rounds=2).ask(PAYMENTS_SLOW)
    requests = _chat_requests(server)
    assert len(requests) == 3  # two rounds with tools, then one that must answer
    assert [("tools" in r) for r in requests] == [True, True, False]
    assert (answer.mode, answer.text) == ("llm", "done")
    assert estate.store.one("SELECT count(*) FROM llm_tool_calls WHERE outcome = 'ok'") == 2


def test_a_model_that_only_calls_tools_ends_in_evidence_mode(estate: Estate) -> None:
    loop = Scripted(tool_calls=(("list_alerts", {}),))
    with OpenAIServer(script=[loop] * 5) as server:
        answer = estate.assistant(server, llm_max_tool_rounds=2).ask(PAYMENTS_SLOW)
    assert len(_chat_requests(server)) == 3
    assert (answer.mode, answer.reason) == ("evidence", "failed")
    outcomes = estate.store.df("SELECT outcome FROM llm_tool_calls ORDER BY ts")["outcome"]
    assert list(outcomes) == ["ok", "ok", "refused"]


def test_the_daily_budget_holds_across_a_restart(estate: Estate) -> None:
    with OpenAIServer(script=[Scripted("one " * 30)]) as server:
        first = estate.assistant(server, llm_daily_token_budget=40).ask(PAYMENTS_SLOW)
        assert (
            first.mode == "llm" and first.usage.prompt_tokens + first.usage.completion_tokens > 40
        )
        estate.store.close()
        estate.store = Store.open(estate.data_dir)  # what a restarted process sees
        second = estate.assistant(server, llm_daily_token_budget=40).ask(PAYMENTS_SLOW)
    assert second.mode == "evidence" and second.reason == "budget"
    assert "token budget" in second.text
    assert len(_chat_requests(server)) == 1


def test_a_zero_budget_never_calls_the_model(estate: Estate) -> None:
    with OpenAIServer() as server:
        answer = estate.assistant(server, llm_daily_token_budget=0).ask(PAYMENTS_SLOW)
    assert (answer.mode, answer.reason) == ("evidence", "budget") and not server.requests


def test_the_rate_limit_counts_requests_in_the_last_minute(estate: Estate) -> None:
    with OpenAIServer(script=[Scripted("first"), Scripted("second")]) as server:
        assistant = estate.assistant(server, llm_requests_per_minute=1)
        assert assistant.ask(PAYMENTS_SLOW).mode == "llm"
        limited = assistant.ask(PAYMENTS_SLOW)
        assert (limited.mode, limited.reason) == ("evidence", "rate_limit")
        estate.store.execute("UPDATE llm_usage SET ts = ts - INTERVAL 61 SECOND")
        assert assistant.ask(PAYMENTS_SLOW).mode == "llm"


@pytest.mark.parametrize(
    ("step", "outcome"),
    [(Scripted("late", delay=2.0), "timeout"), (Scripted(status=500), "server"),
     (Scripted(status=429), "rate_limit")],
)  # fmt: skip
def test_a_failing_model_gives_an_evidence_answer(estate: Estate, step: Scripted,
                                                  outcome: str) -> None:  # fmt: skip
    with OpenAIServer(script=[step]) as server:
        answer = estate.assistant(server, llm_timeout_seconds=0.5).ask(PAYMENTS_SLOW)
    assert (answer.mode, answer.reason) == ("evidence", "failed")
    assert answer.text.startswith("**Evidence mode**")
    assert answer.candidates and answer.candidates[0]["service"] == "payments"
    recorded = estate.store.df("SELECT mode, outcome FROM llm_usage ORDER BY ts")
    assert list(recorded.itertuples(index=False, name=None)) == [
        ("llm", outcome),
        ("evidence", "failed"),
    ]


def test_without_a_model_the_evidence_answer_ranks_and_cites(estate: Estate) -> None:
    answer = estate.assistant().ask(PAYMENTS_SLOW)
    assert (answer.mode, answer.reason) == ("evidence", "unconfigured")
    assert "no language model is configured" in answer.text
    series = [c for c in answer.citations if c.kind == "series"]
    assert series[0].series_id == 2  # payments' latency, the anomalous series
    assert any(c.kind == "incident" for c in answer.citations)
    assert "raised the pool size" in answer.text
    zh = estate.assistant().ask("为什么支付很慢？", lang="zh")
    assert zh.text.startswith("**证据模式**") and "未配置语言模型" in zh.text
    assert zh.candidates[0]["service"] == "payments"


def test_an_alerts_question_is_ranked_at_that_alert(estate: Estate) -> None:
    answer = estate.assistant().ask("what is going on?", alert_id="latency-critical")
    assert answer.citations[0].link == "alerts?alert=latency-critical"
    assert "checkout" in answer.text


def test_conversations_belong_to_their_user(estate: Estate) -> None:
    assistant = estate.assistant()
    first = assistant.ask(PAYMENTS_SLOW, username="ana")
    again = assistant.ask("and now?", session_id=first.session_id, username="ana")
    assert again.session_id == first.session_id
    stolen = assistant.ask("show me", session_id=first.session_id, username="bob")
    assert stolen.session_id != first.session_id
    messages = chat_store.session_messages(estate.store, first.session_id, "ana")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[1]["mode"] == "evidence" and messages[1]["citations"]
    assert chat_store.session_messages(estate.store, first.session_id, "bob") == []
    sessions = chat_store.user_sessions(estate.store, "ana")
    assert list(sessions["session_id"]) == [first.session_id]
    assert sessions["title"].iloc[0] == PAYMENTS_SLOW


@pytest.mark.parametrize(
    ("question", "alert_id"), [("", None), ("   ", None), ("x" * 2001, None), ("why?", "nope")]
)
def test_bad_input_is_a_clear_error_and_changes_nothing(estate: Estate, question: str,
                                                        alert_id: str | None) -> None:  # fmt: skip
    before = table_fingerprints(estate.store)
    with pytest.raises(VigilError):
        estate.assistant().ask(question, alert_id=alert_id)
    assert table_fingerprints(estate.store) == before
