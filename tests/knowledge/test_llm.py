"""The chat client against a real OpenAI-compatible server on loopback: what goes over the
wire, streamed text and tool calls reassembled, usage read or estimated, and every
failure one line without the key."""

from __future__ import annotations

import json

import pytest

from knowledge.llm import ChatClient, LLMError, client_from_settings
from tests.llm_server import DEFAULT_KEY, OpenAIServer, Scripted, masked
from vigil.settings import Settings

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"alert_id": {"type": "string"}}}
FUNCTION = {"name": "get_alert", "description": "one alert", "parameters": SCHEMA}
TOOLS = [{"type": "function", "function": FUNCTION}]


def _client(server: OpenAIServer, key: str = DEFAULT_KEY, **kw: float) -> ChatClient:
    return ChatClient(server.base_url, "gpt-4o-mini", key, timeout=kw.get("timeout", 5.0),
                      temperature=kw.get("temperature", 0.3))  # fmt: skip


def test_the_request_carries_model_temperature_tools_stream_and_the_key() -> None:
    with OpenAIServer(script=[Scripted("Checkout is slow because mysql is.")]) as server:
        _client(server).chat(MESSAGES, TOOLS)
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    body = request.body or {}
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.3
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["tools"] == TOOLS and body["messages"] == MESSAGES


def test_streamed_text_arrives_piece_by_piece_with_the_servers_usage() -> None:
    pieces: list[str] = []
    with OpenAIServer(script=[Scripted("mysql went slow first")]) as server:
        turn = _client(server).chat(MESSAGES, on_token=pieces.append)
    assert turn.text == "mysql went slow first" and len(pieces) == 4
    assert "".join(pieces) == turn.text and turn.tool_calls == ()
    prompt = sum(len(json.dumps(m).split()) for m in MESSAGES)
    assert (turn.usage.prompt_tokens, turn.usage.completion_tokens) == (prompt, 4)
    assert not turn.usage.estimated and turn.finish_reason == "stop"


def test_tool_calls_streamed_in_pieces_are_put_back_together_by_index() -> None:
    calls = (
        ("get_alert", {"alert_id": "a-1"}),
        ("series_stats", {"metric": "m", "labels": {"x": "y"}}),
    )
    with OpenAIServer(script=[Scripted(tool_calls=calls)]) as server:
        turn = _client(server).chat(MESSAGES, TOOLS)
    assert [(c.name, json.loads(c.arguments)) for c in turn.tool_calls] == [
        (name, args) for name, args in calls
    ]
    assert len({c.id for c in turn.tool_calls}) == 2 and turn.finish_reason == "tool_calls"


def test_a_server_that_sends_no_usage_gets_an_estimate() -> None:
    with OpenAIServer(script=[Scripted("x " * 200, usage=False)]) as server:
        turn = _client(server).chat(MESSAGES)
    assert turn.usage.estimated
    assert turn.usage.completion_tokens >= 100 and turn.usage.prompt_tokens > 0


def test_a_server_that_refuses_stream_options_is_asked_again_without() -> None:
    refusal = Scripted(status=400, error="Unrecognized request argument supplied: stream_options")
    with OpenAIServer(script=[refusal, Scripted("fine")]) as server:
        turn = _client(server).chat(MESSAGES)
    assert turn.text == "fine" and turn.usage.estimated
    first, second = (r.body or {} for r in server.requests)
    assert "stream_options" in first and "stream_options" not in second


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit"), (500, "server")])
def test_error_statuses_become_one_line_errors(status: int, kind: str) -> None:
    with (
        OpenAIServer(script=[Scripted(status=status, error="try later")]) as server,
        pytest.raises(LLMError) as caught,
    ):
        _client(server).chat(MESSAGES)
    assert caught.value.kind == kind and "\n" not in str(caught.value)
    assert len(server.requests) == 1  # no hidden retries


def test_a_slow_server_times_out() -> None:
    with (
        OpenAIServer(script=[Scripted("late", delay=2.0)]) as server,
        pytest.raises(LLMError) as caught,
    ):
        _client(server, timeout=0.3).chat(MESSAGES)
    assert caught.value.kind == "timeout"


def test_a_wrong_key_is_reported_without_the_key_or_its_masked_echo() -> None:
    wrong = "sk-wrong-key-abcdefghijklmnop"
    with OpenAIServer() as server, pytest.raises(LLMError) as caught:
        _client(server, key=wrong).chat(MESSAGES)
    text = str(caught.value)
    assert caught.value.kind == "auth"
    assert wrong not in text and masked(wrong) not in text and wrong[-4:] not in text


def test_an_unreachable_endpoint_is_one_clear_line() -> None:
    client = ChatClient("http://127.0.0.1:9/v1", "gpt-4o-mini", DEFAULT_KEY, timeout=1.0)
    with pytest.raises(LLMError, match="could not be reached"):
        client.chat(MESSAGES)


def test_no_endpoint_configured_means_no_client() -> None:
    assert client_from_settings(Settings(llm_base_url=None)) is None
    client = client_from_settings(Settings(llm_base_url="http://127.0.0.1:1/v1", llm_model="m"))
    assert client is not None and client.model == "m"


def test_a_stream_that_is_not_json_is_one_clear_line() -> None:
    class Broken(OpenAIServer):
        def _chunks(self, *args: object) -> list:
            return ["not a chunk"]  # the handler writes `data: "not a chunk"`

    with Broken(script=[Scripted("x")]) as server, pytest.raises(LLMError) as caught:
        _client(server).chat(MESSAGES)
    assert caught.value.kind == "error"
    assert (
        str(caught.value) == "language model gpt-4o-mini sent an answer Vigil cannot read "
        "(AttributeError)"
    )
