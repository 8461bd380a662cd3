"""A local server speaking the part of OpenAI's HTTP API Vigil uses, for tests.

A stdlib ``ThreadingHTTPServer`` on a loopback port (0: the system picks), in a thread.
It checks the bearer key and answers like OpenAI does, error bodies included:

- ``GET /v1/models``: ``{"object": "list", "data": [{"id": ..., "object": "model"}]}``;
- ``POST /v1/chat/completions``: a minimal non-streaming ``chat.completion`` whose
  answer is ``reply`` (a fixed text, or a function of the request's JSON);
- a wrong key: 401 with OpenAI's error JSON, which echoes the key masked
  (``sk-ab****wxyz``) as OpenAI's does, so tests see that nothing of it leaks;
- an unknown model: 404 ``model_not_found``; an unknown path: 404 ``Invalid URL``.

Every request is recorded in ``requests`` (method, path, headers in lower case, JSON).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_KEY = "sk-vigil-test-0123456789abcdef"


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
    ) -> None:
        self.api_key, self.models, self.reply = api_key, models, reply
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

    def answer(self, request: LLMRequest) -> tuple[int, dict[str, Any]]:
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

    def _completion(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(body.get("model", ""))
        if model not in self.models:
            return 404, openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, openai_error("'messages' is a required property", param="messages")
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

            def _send(self, status: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
