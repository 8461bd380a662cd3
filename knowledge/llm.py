"""The one way Vigil calls a language model: an OpenAI-compatible chat client.

Built on the ``openai`` package with a configurable ``base_url``, so OpenAI, Azure,
DeepSeek, Qwen, Ollama and vLLM all work. Answers are streamed (the responder sees words
arrive at 3 a.m. instead of a spinner), tool calls are reassembled from their streamed
pieces, and usage comes from the server's last chunk, or is estimated when the server
sends none (older vLLM and Ollama builds), so budgets still count something real.
Every failure is one :class:`LLMError` line that never carries the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from vigil.errors import VigilError

_MASKED = re.compile(r"[^\s'\"]*\*{4,}[^\s'\".,]*")  # a key echoed with its middle starred
CHARS_PER_TOKEN = 4
"""The usual rule of thumb for English text with GPT tokenisers; Chinese runs denser, so
the estimate errs high there, which is the safe side for a budget."""


class LLMError(VigilError):
    """The model endpoint failed; ``kind`` is timeout, rate_limit, auth, server or error."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens,
                     self.estimated or other.estimated)  # fmt: skip


@dataclass(frozen=True)
class ChatTurn:
    """What the model said in one request: text and/or tool calls, and what it cost."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None = None


@dataclass
class _Pending:
    """A tool call being assembled from deltas that share its index."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def estimate_tokens(text: str) -> int:
    return max(1, -(-len(text) // CHARS_PER_TOKEN)) if text else 0


def _estimated_usage(messages: Sequence[dict[str, Any]], tools: Sequence[dict] | None,
                     text: str, calls: Sequence[ToolCall]) -> Usage:  # fmt: skip
    prompt = json.dumps(list(messages), ensure_ascii=False) + json.dumps(list(tools or []))
    completion = text + "".join(c.name + c.arguments for c in calls)
    return Usage(estimate_tokens(prompt), estimate_tokens(completion), estimated=True)


class ChatClient:
    """A streaming chat client for one endpoint and model; thread-safe, like the SDK's."""

    def __init__(self, base_url: str, model: str, api_key: str | None, *,
                 timeout: float = 30.0, temperature: float = 0.1) -> None:  # fmt: skip
        self.model, self.temperature = model, temperature
        self._secret = api_key or ""
        # Local servers (Ollama, vLLM) take any key; the SDK insists on one being set.
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "none",
                                     timeout=timeout, max_retries=0)  # fmt: skip

    def chat(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatTurn:
        """One streamed completion; ``on_token`` gets each piece of text as it arrives."""
        request: dict[str, Any] = {
            "model": self.model, "messages": list(messages), "temperature": self.temperature,
            "stream": True, "stream_options": {"include_usage": True},
        }  # fmt: skip
        if tools:
            request["tools"] = list(tools)
        try:
            try:
                stream = self._client.chat.completions.create(**request)
            except openai.BadRequestError as exc:
                if "stream_options" not in str(exc):
                    raise
                # older servers refuse stream_options: ask again without, usage estimated
                request.pop("stream_options")
                stream = self._client.chat.completions.create(**request)
            return self._collect(stream, messages, tools, on_token)
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a stream off-spec
            what = f"sent an answer Vigil cannot read ({type(exc).__name__})"
            raise LLMError(self.scrub(f"language model {self.model} {what}")) from None

    def _collect(self, stream: Any, messages: Sequence[dict[str, Any]],
                 tools: Sequence[dict] | None,
                 on_token: Callable[[str], None] | None) -> ChatTurn:  # fmt: skip
        text: list[str] = []
        pending: dict[int, _Pending] = {}
        usage, finish = None, None
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
            for choice in chunk.choices or []:
                finish = choice.finish_reason or finish
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    text.append(delta.content)
                    if on_token is not None:
                        on_token(delta.content)
                for piece in delta.tool_calls or []:
                    call = pending.setdefault(piece.index or 0, _Pending())
                    call.id = piece.id or call.id
                    if piece.function is not None:
                        call.name += piece.function.name or ""
                        call.arguments.append(piece.function.arguments or "")
        calls = tuple(ToolCall(c.id or f"call_{i}", c.name, "".join(c.arguments))
                      for i, c in sorted(pending.items()))  # fmt: skip
        answer = "".join(text)
        if usage is None:
            usage = _estimated_usage(messages, tools, answer, calls)
        return ChatTurn(answer, calls, usage, finish)

    def _error(self, exc: openai.OpenAIError) -> LLMError:
        """One line naming the cause, scrubbed of the key and of any masked echo of it."""
        if isinstance(exc, openai.APITimeoutError):
            kind, what = "timeout", "timed out"
        elif isinstance(exc, openai.APIConnectionError):
            kind, what = "error", "could not be reached"
        elif isinstance(exc, openai.RateLimitError):
            kind, what = "rate_limit", "is rate limiting (429)"
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            kind, what = "auth", f"refused the API key ({exc.status_code})"
        elif isinstance(exc, openai.APIStatusError):
            kind = "server" if exc.status_code >= 500 else "error"
            what = f"answered {exc.status_code}: {_message(exc)}"
        else:
            kind, what = "error", f"failed: {type(exc).__name__}"
        return LLMError(self.scrub(f"language model {self.model} {what}"), kind)

    def scrub(self, text: str) -> str:
        text = _MASKED.sub("***", text)
        text = text.replace(self._secret, "***") if self._secret else text
        return " ".join(text.split())[:300]


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body.get("error", body), dict) else body
    return str(inner.get("message") or exc.message or "").strip()


def client_from_settings(settings: Any) -> ChatClient | None:
    """The configured endpoint's client, or None when no endpoint is set."""
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatClient(settings.llm_base_url, settings.llm_model, key,
                      timeout=settings.llm_timeout_seconds,
                      temperature=settings.llm_temperature)  # fmt: skip
