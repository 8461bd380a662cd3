"""Local stand-ins for the services notifications go to, speaking their wire protocols.

Each HTTP service is a stdlib ``ThreadingHTTPServer`` on loopback (port 0) in a thread.
It checks requests the way the real service does (DingTalk: ``access_token``, and with a
secret a millisecond ``timestamp`` within an hour and a ``sign`` that matches; Feishu:
the token in the path, and with a secret a ``sign`` matching the body's ``timestamp``;
WeCom: the ``key`` query parameter; Slack: the path token and its block limits), answers
with the real service's success and error bodies, and records every request. ``fail``
queues answers for the next requests: a status, an error body, a delay (to force a
timeout), or closing the connection without answering.

``SmtpServer`` is aiosmtpd on loopback, optionally with STARTTLS or implicit TLS (a
self-signed certificate made with the ``openssl`` CLI), AUTH, and refusals.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Fault:
    status: int = 200
    answer: dict[str, Any] | str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False


def json_answer(data: dict[str, Any], status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def text_answer(text: str, status: int = 200) -> Answer:
    return status, {"Content-Type": "text/html"}, text.encode()


def _fault_answer(fault: Fault) -> Answer:
    made = fault.answer
    status, headers, body = (json_answer(made, fault.status) if isinstance(made, dict)
                             else text_answer(made, fault.status))  # fmt: skip
    return status, headers | fault.headers, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that timed out leaves a broken pipe behind, as intended."""


class FakeService:
    """The HTTP plumbing shared by the services; subclasses define ``path`` and
    ``answer`` (check a request as the real service does and reply like it)."""

    path = "/"

    def __init__(self, cert: tuple[Path, Path] | None = None) -> None:
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._scheme = "http"
        if cert is not None:  # HTTPS with a self-signed certificate
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The webhook URL a receiver is configured with."""
        return self.base + self.path

    def fail(self, status: int = 200, answer: dict[str, Any] | str = "", *, times: int = 1,
             headers: dict[str, str] | None = None, delay: float = 0.0,
             close: bool = False) -> None:  # fmt: skip
        """Answer the next ``times`` requests this way instead of normally."""
        with self._lock:
            self._faults += [Fault(status, answer, headers or {}, delay, close)] * times

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError

    def __enter__(self) -> FakeService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, request: Request) -> Fault | Answer:
        with self._lock:
            self.requests.append(request)
            if self._faults:
                return self._faults.pop(0)
        return self.answer(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    "POST", parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length),
                )  # fmt: skip
                reply = service._reply(request)
                if isinstance(reply, Fault):
                    time.sleep(reply.delay)
                    if reply.close:
                        self.close_connection = True
                        return
                    reply = _fault_answer(reply)
                self._send(*reply)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class DingTalkService(FakeService):
    path = "/robot/send"
    SEND_TOO_FAST: ClassVar[dict[str, Any]] = {
        "errcode": 130101,
        "errmsg": "send too fast, exceed 20 times per minute",
    }
    SIGN_NOT_MATCH: ClassVar[dict[str, Any]] = {
        "errcode": 310000,
        "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
    }
    TOO_LONG: ClassVar[dict[str, Any]] = {
        "errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}  # fmt: skip
    TOKEN_NOT_EXIST: ClassVar[dict[str, Any]] = {"errcode": 300005, "errmsg": "token is not exist"}

    def __init__(self, access_token: str, secret: str | None = None) -> None:
        super().__init__()
        self.access_token, self.secret = access_token, secret

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}?access_token={self.access_token}"

    def answer(self, request: Request) -> Answer:
        if request.path != self.path or request.query.get("access_token") != self.access_token:
            return json_answer(self.TOKEN_NOT_EXIST)
        if self.secret is not None and not self._signed(request.query):
            return json_answer(self.SIGN_NOT_MATCH)
        markdown = request.json().get("markdown") or {}
        if request.json().get("msgtype") != "markdown" or not markdown.get("title"):
            return json_answer({"errcode": 40035, "errmsg": "缺少参数 markdown"})
        if len(str(markdown.get("text", "")).encode()) > 20_000:
            return json_answer(self.TOO_LONG)
        return json_answer({"errcode": 0, "errmsg": "ok"})

    def _signed(self, query: dict[str, str]) -> bool:
        """DingTalk's check: a millisecond timestamp within an hour, and the sign."""
        stamp = query.get("timestamp", "")
        if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > 3_600_000:
            return False
        key = (self.secret or "").encode()
        digest = hmac.new(key, f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), query.get("sign", ""))


class WeComService(FakeService):
    path = "/cgi-bin/webhook/send"
    FREQ_OUT_OF_LIMIT: ClassVar[dict[str, Any]] = {
        "errcode": 45009,
        "errmsg": "api freq out of limit",
    }
    INVALID_KEY: ClassVar[dict[str, Any]] = {
        "errcode": 93000,
        "errmsg": "invalid webhook url, hint: [1722], from "
        "ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query"
        "?e=93000",
    }

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}?key={self.key}"

    def answer(self, request: Request) -> Answer:
        if request.path != self.path or request.query.get("key") != self.key:
            return json_answer(self.INVALID_KEY)
        body = request.json()
        if body.get("msgtype") != "markdown":
            return json_answer({"errcode": 40008, "errmsg": "invalid message type"})
        if len(str(body["markdown"].get("content", "")).encode()) > 4096:
            return json_answer({"errcode": 40058, "errmsg": "markdown.content exceed max "
                                "length 4096. invalid Request Parameter"})  # fmt: skip
        return json_answer({"errcode": 0, "errmsg": "ok"})


class FeishuService(FakeService):
    TOO_MANY_REQUEST: ClassVar[dict[str, Any]] = {
        "code": 9499,
        "msg": "too many request",
        "data": {},
    }
    SIGN_MATCH_FAIL: ClassVar[dict[str, Any]] = {
        "code": 19021,
        "msg": "sign match fail or timestamp is not within one hour from current time",
        "data": {},
    }
    TOKEN_INVALID: ClassVar[dict[str, Any]] = {
        "code": 19001,
        "msg": "param invalid: incoming webhook access token invalid",
        "data": {},
    }

    def __init__(self, token: str, secret: str | None = None, legacy: bool = False) -> None:
        super().__init__()
        self.token, self.secret, self.legacy = token, secret, legacy
        self.path = f"/open-apis/bot/v2/hook/{token}"

    def answer(self, request: Request) -> Answer:
        if request.path != self.path:
            return json_answer(self.TOKEN_INVALID)
        body = request.json()
        if self.secret is not None and not self._signed(body):
            return json_answer(self.SIGN_MATCH_FAIL)
        if body.get("msg_type") != "interactive" or "card" not in body:
            return json_answer({"code": 19002, "msg": "params error, msg_type need", "data": {}})
        if self.legacy:
            return json_answer({"Extra": None, "StatusCode": 0, "StatusMessage": "success"})
        return json_answer({"code": 0, "msg": "success", "data": {}})

    def _signed(self, body: dict[str, Any]) -> bool:
        """Feishu's check: the key is "timestamp\\nsecret", the message empty."""
        stamp = str(body.get("timestamp", ""))
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 3600:
            return False
        key = f"{stamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, str(body.get("sign", "")))


class SlackService(FakeService):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.path = f"/services/T0VIGIL01/B0VIGIL01/{token}"

    def answer(self, request: Request) -> Answer:
        if not request.path.startswith("/services/T0VIGIL01/B0VIGIL01/"):
            return text_answer("no_service", 404)
        if request.path != self.path:
            return text_answer("invalid_token", 403)
        body = request.json()
        if not body.get("text") and not body.get("blocks"):
            return text_answer("no_text", 400)
        blocks = body.get("blocks", [])
        limits = {"header": 150, "section": 3000}
        if len(blocks) > 50 or any(len(b["text"]["text"]) > limits[b["type"]] for b in blocks):
            return text_answer("invalid_blocks", 400)
        return text_answer("ok")


class WebhookService(FakeService):
    path = "/alertmanager/hook"

    def __init__(self, bearer_token: str | None = None,
                 cert: tuple[Path, Path] | None = None) -> None:  # fmt: skip
        super().__init__(cert)
        self.bearer_token = bearer_token

    def answer(self, request: Request) -> Answer:
        expected = f"Bearer {self.bearer_token}" if self.bearer_token else None
        if expected is not None and request.headers.get("authorization") != expected:
            return json_answer({"error": "unauthorized"}, 401)
        return text_answer("", 200)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for localhost / 127.0.0.1, made with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class _LoopbackController(Controller):
    """aiosmtpd's controller on port 0: learn the port before its readiness probe."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """aiosmtpd on loopback that keeps every message it accepts. ``refuse_rcpt`` and
    ``refuse_data`` are SMTP replies ("451 4.3.0 try later") to answer instead of 250
    (``refuse_rcpt`` by address, "*" for any); ``raw`` keeps each message's bytes."""

    def __init__(self, *, cert: tuple[Path, Path] | None = None, implicit_tls: bool = False,
                 login: tuple[str, str] | None = None) -> None:  # fmt: skip
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_rcpt: dict[str, str] = {}  # address (or "*") -> reply
        self.refuse_data: str | None = None
        self.logins: list[str] = []
        self._login = login
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
        options: dict[str, Any] = {"hostname": "127.0.0.1", "port": 0}
        if context is not None and implicit_tls:
            options["ssl_context"] = context
        elif context is not None:
            options |= {"tls_context": context, "require_starttls": True}
        if login is not None:
            options |= {"authenticator": self._authenticate, "auth_required": True,
                        "auth_require_tls": context is not None}  # fmt: skip
        self._controller = _LoopbackController(self, **options)

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and self._login == (
            auth_data.login.decode(), auth_data.password.decode())  # fmt: skip
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd replies 535

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        refusal = self.refuse_rcpt.get(address, self.refuse_rcpt.get("*"))
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.raw.append(envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
