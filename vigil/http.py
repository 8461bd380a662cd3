"""The engine's small HTTP port: ``/metrics``, ``/healthz``, snapshots, the alert list and
the Alertmanager webhook intake.

It is the stdlib's threaded server in a daemon thread: a handful of routes, scraped every
few seconds, need no framework, and a slow scrape must never block the scheduler. The
server knows nothing about the engine; it is handed callables, so it can be tested (and
reused) with any store and any notion of health.

Responses other than ``/metrics`` are JSON. Failures report the exception's type and
message, never a stack trace; the trace goes to the log.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs, urlsplit

from vigil.api_token import authorized
from vigil.errors import VigilError

log = logging.getLogger(__name__)

READY_PHASE = "running"


class HealthStatus(Protocol):
    """What ``/healthz`` needs to know; the engine's ``EngineStatus`` fits as it is."""

    @property
    def phase(self) -> str: ...

    @property
    def message(self) -> str: ...


MetricsFn = Callable[[str], tuple[bytes, str]]
HealthFn = Callable[[], HealthStatus]
SnapshotFn = Callable[[], "str | PathLike[str]"]
AlertsFn = Callable[[list[str]], list[dict[str, Any]]]
RulesFn = Callable[[], str]
AlertActionFn = Callable[[str, str, str, str], None]  # (action, alert_id, who, comment)
BacktestFn = Callable[[dict[str, Any]], list[dict[str, Any]]]
RuleQueryFn = Callable[[str, dict[str, list[str]]], dict[str, Any]]  # (list | history, query)
# A route answered by one function: GET gets the query string (``parse_qs``), POST the
# JSON body; a VigilError it raises is the client's fault (400).
JsonFn = Callable[[dict[str, Any]], dict[str, Any]]
MAX_BODY_BYTES = 64 * 1024
DISCARD_LIMIT = 4 * 2**20  # an over-limit body up to this is read and dropped before the 413
DISCARD_WAIT_SECONDS = 2.0  # how long a refused body may take to arrive
MAX_WEBHOOK_BYTES = 1 << 20  # a webhook carries a whole alert group
WEBHOOK_PATH = "/api/v1/alerts/webhook"


class SilencesApi(Protocol):
    """``vigil.silences_store.SilenceApi`` fits."""

    def list(self, states: list[str]) -> list[dict[str, Any]]: ...

    def add(self, request: dict[str, Any]) -> dict[str, Any]: ...

    def expire(self, silence_id: str, by: str = "unknown") -> dict[str, Any]: ...


class IntakeApi(Protocol):
    """``vigil.intake.Intake`` fits: receives Alertmanager webhooks."""

    def authorized(self, authorization: str) -> bool: ...

    def receive(self, body: bytes) -> dict[str, Any]:
        """Store the body's alerts, answering only once they are committed; VigilError for
        a payload it refuses (nothing stored), TimeoutError when it could not commit."""
        ...

    def close(self) -> None: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not keep the process alive at exit
    allow_reuse_address = True
    # The stdlib's backlog of 5 drops connections when an Alertmanager's groups all flush
    # at once, and a dropped SYN costs the sender a second before it tries again.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        metrics: MetricsFn,
        health: HealthFn,
        snapshot: SnapshotFn | None,
        alerts: AlertsFn | None = None,
        rules: RulesFn | None = None,
        silences: SilencesApi | None = None,
        alert_action: AlertActionFn | None = None,
        backtest: BacktestFn | None = None,
        rule_query: RuleQueryFn | None = None,
        intake: IntakeApi | None = None,
        json_routes: dict[tuple[str, str], JsonFn] | None = None,
        api_token: str | None = None,
    ) -> None:
        self.api_token = api_token
        self.json_routes = dict(json_routes or {})
        self.intake = intake
        self.backtest = backtest
        self.rule_query = rule_query
        self.silences = silences
        self.alert_action = alert_action
        self.metrics = metrics
        self.health = health
        self.snapshot = snapshot
        self.alerts = alerts
        self.rules = rules
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "vigil"
    # Routes and the methods they accept; anything else is 404, a wrong method 405.
    routes: ClassVar[dict[str, tuple[str, ...]]] = {
        "/metrics": ("GET", "HEAD"),
        "/healthz": ("GET", "HEAD"),
        "/api/v1/snapshot": ("POST",),
        "/api/v1/alerts": ("GET",),
        "/api/v1/rules": ("GET",),
        "/api/v1/rules/backtest": ("POST",),
        "/api/v1/rules/list": ("GET",),
        "/api/v1/rules/history": ("GET",),
        "/api/v1/silences": ("GET", "POST"),
        "/api/v1/silences/expire": ("POST",),
        "/api/v1/alerts/acknowledge": ("POST",),
        "/api/v1/alerts/resolve": ("POST",),
        WEBHOOK_PATH: ("POST",),
    }

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        extra = tuple(m for m, p in self.server.json_routes if p == path)
        allowed = self.routes.get(path, extra or None)
        if allowed is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})
            return
        if method not in allowed:
            self._json(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"error": f"{method} not allowed on {path}"},
                headers={"Allow": ", ".join(allowed)},
            )
            return
        if (
            method == "POST"
            and path != WEBHOOK_PATH
            and not authorized(self.headers.get("Authorization"), self.server.api_token)
        ):
            self._json(HTTPStatus.UNAUTHORIZED, {"error": "this endpoint changes things: send "
                       "the engine's API token (the data dir's api-token file) as a bearer "
                       "token"}, headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
            return
        try:
            if extra:
                self._json_route(method, path)
            elif path == "/metrics":
                self._metrics()
            elif path == "/healthz":
                self._health()
            elif path == "/api/v1/alerts":
                self._alerts()
            elif path == WEBHOOK_PATH:
                self._webhook()
            elif path.startswith("/api/v1/alerts/"):
                self._alert_action(path.rsplit("/", 1)[1])
            elif path == "/api/v1/rules":
                self._rules()
            elif path == "/api/v1/rules/backtest":
                self._backtest()
            elif path.startswith("/api/v1/rules/"):
                self._rule_query(path.rsplit("/", 1)[1])
            elif path.startswith("/api/v1/silences"):
                self._silences(method, path)
            else:
                self._snapshot()
        except Exception as exc:
            log.exception("HTTP %s %s failed", method, path)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": _describe(exc)})

    def _json_route(self, method: str, path: str) -> None:
        fn = self.server.json_routes[(method, path)]
        request = parse_qs(urlsplit(self.path).query) if method == "GET" else self._json_body()
        if request is None:
            return
        try:
            self._json(HTTPStatus.OK, fn(request))
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    def _metrics(self) -> None:
        body, content_type = self.server.metrics(self.headers.get("Accept", ""))
        self._send(HTTPStatus.OK, body, content_type)

    def _health(self) -> None:
        try:
            status = self.server.health()
            phase, message = str(status.phase), str(status.message)
        except Exception as exc:
            log.exception("health check failed")
            phase, message = "unknown", _describe(exc)
        if phase == READY_PHASE:
            self._json(HTTPStatus.OK, {"status": "ok", "phase": phase})
        else:
            self._json(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"status": "unavailable", "phase": phase, "message": message},
            )

    def _snapshot(self) -> None:
        self._drain_body()
        if self.server.snapshot is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "snapshots are not configured"})
            return
        try:
            path = self.server.snapshot()
        except Exception as exc:
            log.exception("snapshot failed")
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": _describe(exc)})
            return
        self._json(HTTPStatus.OK, {"path": str(path)})

    def _alerts(self) -> None:
        """``?state=firing&state=pending`` (repeatable, or comma-separated) filters."""
        if self.server.alerts is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "alerts are not served here"})
            return
        query = parse_qs(urlsplit(self.path).query)
        states = [s for value in query.get("state", []) for s in value.split(",")]
        try:
            alerts = self.server.alerts(states)
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"alerts": alerts})

    def _rules(self) -> None:
        """Every rule as a Prometheus rule file (``vigil.rules_store.export_rules``)."""
        if self.server.rules is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "rules are not served here"})
            return
        self._json(HTTPStatus.OK, {"file": self.server.rules()})

    def _rule_query(self, what: str) -> None:
        """``/list``: every rule and its health; ``/history?rule=NAME``: its versions."""
        if self.server.rule_query is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "rules are not served here"})
            return
        try:
            answer = self.server.rule_query(what, parse_qs(urlsplit(self.path).query))
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, answer)

    def _silences(self, method: str, path: str) -> None:
        """GET lists (``?state=active``); POST creates from a JSON object; POST to
        ``/expire`` with ``{"silence_id": ...}`` ends one now."""
        api = self.server.silences
        if api is None:
            self._drain_body()
            self._json(HTTPStatus.NOT_FOUND, {"error": "silences are not served here"})
            return
        try:
            if method == "GET":
                query = parse_qs(urlsplit(self.path).query)
                states = [s for value in query.get("state", []) for s in value.split(",")]
                self._json(HTTPStatus.OK, {"silences": api.list(states)})
                return
            request = self._json_body()
            if request is None:
                return
            if path.endswith("/expire"):
                self._json(
                    HTTPStatus.OK,
                    api.expire(
                        str(request.get("silence_id", "")), str(request.get("by") or "unknown")
                    ),
                )
            else:
                self._json(HTTPStatus.OK, api.add(request))
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    def _backtest(self) -> None:
        """``{"file": rule file text, "rule": name or null, "days": 7}`` → results."""
        if self.server.backtest is None:
            self._drain_body()
            self._json(HTTPStatus.NOT_FOUND, {"error": "backtests are not served here"})
            return
        request = self._json_body()
        if request is None:
            return
        try:
            self._json(HTTPStatus.OK, {"results": self.server.backtest(request)})
        except (VigilError, ValueError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    def _alert_action(self, action: str) -> None:
        """``{"alert_id", "by", "comment"}``: acknowledge or resolve an open alert."""
        if self.server.alert_action is None:
            self._drain_body()
            self._json(HTTPStatus.NOT_FOUND, {"error": "alert actions are not served here"})
            return
        request = self._json_body()
        if request is None:
            return
        try:
            fields = (str(request.get(k, "")) for k in ("alert_id", "by", "comment"))
            self.server.alert_action(action, *fields)
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        self._json(HTTPStatus.OK, {"alert_id": request.get("alert_id"), "action": action})

    def _webhook(self) -> None:
        """Alertmanager's webhook: 401 without the token, 413 over the size limit, 400 for
        a payload the intake refuses; each stores nothing. 200 only after the commit."""
        intake = self.server.intake
        if intake is None or not intake.authorized(self.headers.get("Authorization", "")):
            self._discard_body(MAX_WEBHOOK_BYTES)
            if intake is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "the webhook intake is off here"})
            else:
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "a valid bearer token is needed"},
                           headers={"WWW-Authenticate": 'Bearer realm="vigil"'})  # fmt: skip
            return
        length = self._content_length()
        if length is None or length > MAX_WEBHOOK_BYTES:
            self._discard_body(4 * MAX_WEBHOOK_BYTES)
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length else HTTPStatus.BAD_REQUEST
            message = f"the body must be at most {MAX_WEBHOOK_BYTES} bytes, with its length"
            self._json(status, {"error": message})
            return
        try:
            answer = intake.receive(self.rfile.read(length))
        except VigilError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        except TimeoutError as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": _describe(exc)},
                       headers={"Retry-After": "5"})  # fmt: skip
            return
        self._json(HTTPStatus.OK, answer)

    def _content_length(self) -> int | None:
        """The declared body length; None when it is missing or not a number."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def _discard_body(self, limit: int) -> None:
        """Read and drop a body of up to ``limit`` bytes before refusing it: closing on
        unread data resets the connection, and the client would miss the answer. A
        larger one is not read; the connection closes instead."""
        self.close_connection = True
        length = self._content_length() or 0
        if length > limit:
            return
        self.connection.settimeout(DISCARD_WAIT_SECONDS)  # a client that sends nothing
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)
        except OSError:  # the wait ran out, or the client went away: answer anyway
            pass

    def _json_body(self) -> dict[str, Any] | None:
        """The request's JSON object; None after answering 400 or 413 for anything else."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._discard_body(DISCARD_LIMIT)  # so the client reads the answer, not a reset
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST
            message = f"the body must be a JSON object of at most {MAX_BODY_BYTES} bytes"
            self._json(status, {"error": message})
            return None
        try:
            text = self.rfile.read(length).decode("utf-8") if length else ""
            request = json.loads(text, parse_constant=_no_constant) if length else None
        except (UnicodeDecodeError, ValueError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"the body is not JSON: {exc}"})
            return None
        except RecursionError:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "the body is nested too deeply"})
            return None
        if not isinstance(request, dict):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
            return None
        return request

    def _drain_body(self) -> None:
        """Read any request body so the connection stays in a clean state."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))

    def _json(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Scrapes every few seconds would flood stderr; keep access lines at debug level.
        log.debug("%s %s", self.address_string(), format % args)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class HttpServer:
    """A running server; :attr:`port` is the real port (useful when 0 was asked for)."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"vigil-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._server.intake is not None:  # commit what it accepted, then stop its writer
            self._server.intake.close()


def _no_constant(name: str) -> float:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON value")


def start_http_server(
    host: str,
    port: int,
    *,
    metrics: MetricsFn,
    health: HealthFn,
    snapshot: SnapshotFn | None = None,
    alerts: AlertsFn | None = None,
    rules: RulesFn | None = None,
    silences: SilencesApi | None = None,
    alert_action: AlertActionFn | None = None,
    backtest: BacktestFn | None = None,
    rule_query: RuleQueryFn | None = None,
    intake: IntakeApi | None = None,
    json_routes: dict[tuple[str, str], JsonFn] | None = None,
    api_token: str | None = None,
) -> HttpServer:
    """Serve on ``host:port`` in a daemon thread (``port`` 0 picks a free port).

    ``metrics(accept_header)`` returns the body and content type (``vigil.metrics.render``);
    ``health()`` returns something with ``phase`` and ``message`` (the engine's status);
    ``snapshot()`` writes a snapshot and returns its path; ``alerts(states)`` lists alerts
    (``vigil.alert_list.list_alerts``); ``rules()`` exports the rule file;
    ``rule_query(what, query)`` answers ``/api/v1/rules/list`` and ``/history``;
    ``intake`` receives Alertmanager webhooks on ``/api/v1/alerts/webhook`` and is closed
    when the server stops; ``json_routes`` maps (method, path) to a function of the query
    or body returning the JSON answer; with ``api_token``, every POST but the webhook needs
    it as a bearer token (:mod:`vigil.api_token`). Raises
    ``OSError`` when the address cannot be bound, e.g. the port is taken.
    """
    try:
        server = _Server(
            (host, port),
            metrics,
            health,
            snapshot,
            alerts,
            rules,
            silences,
            alert_action,
            backtest,
            rule_query,
            intake,
            json_routes,
            api_token,
        )
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "choose another http_port or set it to 0 to turn the HTTP port off",
        ) from None
    return HttpServer(server)
