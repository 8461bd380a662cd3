"""A local server speaking the part of OpenAI's HTTP API Vigil uses, for tests.

A stdlib ``ThreadingHTTPServer`` on a loopback port (0: the system picks), in a thread.
It checks the bearer key and answers like OpenAI does, error bodies included:

- ``GET /v1/models``: ``{"object": "list", "data": [{"id": ..., "object": "model"}]}``;
- ``POST /v1/chat/completions``: a minimal non-streaming ``chat.completion`` whose
  answer is ``reply`` (a fixed text, or a function of the request's JSON);
- a wrong key: 401 with OpenAI's error JSON, which echoes the key masked
  (``sk-ab****wxyz``) as OpenAI's does, so tests see that nothing of it leaks;
- ``POST /v1/embeddings``: one vector per input (a string or a list of them), a
  deterministic hashed bag of words (:func:`hashed_embedding`), as floats or, when the
  client asks ``encoding_format: base64`` (the openai package does), base64 float32;
- an unknown model: 404 ``model_not_found``; an unknown path: 404 ``Invalid URL``.

Every request is recorded in ``requests`` (method, path, headers in lower case, JSON).

Chat completions can also be scripted: ``script`` is a sequence of :class:`Scripted`
answers used one per request, in order (then ``reply`` again). Each is a plain answer or
tool calls, streamed as OpenAI streams them when the request asks (``data: {...}`` SSE
chunks, text word by word, tool-call arguments in pieces that share the call's index,
usage in a last chunk without choices when ``stream_options.include_usage`` is set,
then ``data: [DONE]``), after an optional delay, or an error status with OpenAI's body.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_KEY = "sk-vigil-test-0123456789abcdef"


@dataclass(frozen=True)
class Scripted:
    """One scripted chat completion: ``text`` and/or ``tool_calls`` ((name, arguments)
    pairs; arguments a dict or raw JSON text), ``usage`` False to send none, ``delay``
    seconds before answering, or ``status`` >= 400 to fail with ``error`` as message."""

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    usage: bool = True
    delay: float = 0.0
    status: int = 200
    error: str = "The server had an error while processing your request."


@dataclass(frozen=True)
class SSE:
    """A streamed answer: the JSON chunks sent as ``data:`` events, then ``[DONE]``."""

    chunks: list[dict[str, Any]]


@dataclass(frozen=True)
class LLMRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def openai_error(message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> dict[str, Any]:  # fmt: skip
    """OpenAI's error body."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def hashed_embedding(text: str, dimensions: int = 64) -> list[float]:
    """A stand-in embedding model: words (and Chinese characters) hashed into a few
    dimensions and L2-normalised, so texts sharing words come out close."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+|[\u4e00-\u9fff]", text.lower()):
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def masked(key: str) -> str:
    """A key as OpenAI's 401 message shows it: the first and last few characters."""
    return key[:3] + "*" * max(len(key) - 7, 4) + key[-4:]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up leaves a broken pipe behind."""


class OpenAIServer:
    """Use as a context manager; ``base_url`` is what ``llm_base_url`` is set to."""

    def __init__(
        self,
        api_key: str | None = DEFAULT_KEY,
        models: tuple[str, ...] = ("gpt-4o-mini",),
        reply: str | Callable[[dict[str, Any]], str] = "Hello from the test model.",
        script: Sequence[Scripted] = (),
    ) -> None:
        self.api_key, self.models, self.reply = api_key, models, reply
        self.script = list(script)
        self.requests: list[LLMRequest] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, request: LLMRequest) -> tuple[int, dict[str, Any] | SSE]:
        """Status and JSON body for one request, checked as OpenAI checks it."""
        refused = self._unauthorised(request.headers.get("authorization", ""))
        if refused is not None:
            return 401, refused
        if request.method == "GET" and request.path == "/v1/models":
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "vigil"}
                    for m in self.models]  # fmt: skip
            return 200, {"object": "list", "data": data}
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._completion(request.body or {})
        if request.method == "POST" and request.path == "/v1/embeddings":
            return self._embeddings(request.body or {})
        return 404, openai_error(f"Invalid URL ({request.method} {request.path})")

    def _unauthorised(self, header: str) -> dict[str, Any] | None:
        if self.api_key is None:
            return None
        if not header.startswith("Bearer "):
            return openai_error(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        given = header.removeprefix("Bearer ")
        if given != self.api_key:
            return openai_error(
                f"Incorrect API key provided: {masked(given)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.", code="invalid_api_key",
            )  # fmt: skip
        return None

    def _embeddings(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(body.get("model", ""))
        if model not in self.models:
            return 404, openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        texts = inputs if isinstance(inputs, list) else []
        if not texts or not all(isinstance(i, str) for i in texts):
            return 400, openai_error("'input' must be a string or a list of strings", param="input")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = hashed_embedding(text)
            encoded: Any = (base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                            if as_base64 else vector)  # fmt: skip
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(t.split()) for t in texts)
        return 200, {"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}  # fmt: skip

    def _completion(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | SSE]:
        model = str(body.get("model", ""))
        if model not in self.models:
            return 404, openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, openai_error("'messages' is a required property", param="messages")
        with self._lock:
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return self._scripted(scripted, body)
        content = self.reply(body) if callable(self.reply) else self.reply
        prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion = len(content.split())
        return 200, {
            "id": f"chatcmpl-vigil-{len(self.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }  # fmt: skip

    def _scripted(self, step: Scripted, body: dict[str, Any]) -> tuple[int, dict[str, Any] | SSE]:
        time.sleep(step.delay)
        if step.status >= 400:
            kind = "rate_limit_exceeded" if step.status == 429 else "server_error"
            return step.status, openai_error(step.error, kind=kind)
        calls = [{"id": f"call_{len(self.requests)}_{i}", "type": "function",
                  "function": {"name": name, "arguments": args if isinstance(args, str)
                               else json.dumps(args)}}
                 for i, (name, args) in enumerate(step.tool_calls)]  # fmt: skip
        prompt = sum(len(json.dumps(m).split()) for m in body["messages"])
        usage = {"prompt_tokens": prompt, "completion_tokens": len(step.text.split()) + len(calls),
                 "total_tokens": prompt + len(step.text.split()) + len(calls)}  # fmt: skip
        finish = "tool_calls" if calls else "stop"
        base = {"id": f"chatcmpl-vigil-{len(self.requests)}", "created": int(time.time()),
                "model": body["model"]}  # fmt: skip
        if not body.get("stream"):
            message = {"role": "assistant", "content": step.text or None}
            if calls:
                message["tool_calls"] = calls
            return 200, {**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                **({"usage": usage} if step.usage else {})}  # fmt: skip
        return 200, SSE(self._chunks(base, step.text, calls, finish,
                                     usage if step.usage else None, body))  # fmt: skip

    @staticmethod
    def _chunks(base: dict[str, Any], text: str, calls: list[dict[str, Any]], finish: str,
                usage: dict[str, Any] | None,
                body: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
        """OpenAI's stream: a role chunk, text word by word, each tool call as its id and
        name, then its arguments in three pieces, a finish chunk, and usage if asked."""

        def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            return {**base, "object": "chat.completion.chunk", "choices": [choice]}

        out = [chunk({"role": "assistant", "content": ""})]
        words = text.split(" ") if text else []
        out += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
        for index, call in enumerate(calls):
            out.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                              "function": {"name": call["function"]["name"],
                                                           "arguments": ""}}]}))  # fmt: skip
            args = call["function"]["arguments"]
            cut = [0, len(args) // 3, 2 * len(args) // 3, len(args)]
            out += [chunk({"tool_calls": [{"index": index, "function": {"arguments": args[a:b]}}]})
                    for a, b in itertools.pairwise(cut) if b > a]  # fmt: skip
        out.append(chunk({}, finish))
        if usage is not None and (body.get("stream_options") or {}).get("include_usage"):
            out.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve(None)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    self._send(400, openai_error("We could not parse the JSON body of your "
                                                 "request."))  # fmt: skip
                    return
                self._serve(body if isinstance(body, dict) else {})

            def _serve(self, body: dict[str, Any] | None) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = LLMRequest(self.command, self.path.split("?")[0], headers, body)
                with service._lock:
                    service.requests.append(request)
                self._send(*service.answer(request))

            def _send(self, status: int, data: dict[str, Any] | SSE) -> None:
                if isinstance(data, SSE):
                    self._stream(data)
                    return
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, sse: SSE) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in sse.chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
