"""A loopback HTTP server answering ``/api/v1/query_range`` the way Prometheus does.

Real Prometheus cannot be told to fail on cue, so fault tests use this instead: it speaks
the documented JSON envelope (``status``, ``data.resultType = matrix``, ``warnings``,
``errorType``/``error``) and evaluates a deterministic function at ``start + k*step``, and
each query's :class:`Behaviour` switches on one fault: delay, HTTP errors (for a number of
requests, then recovery), PromQL errors, warnings with gaps, NaN/±Inf values, or a label
explosion. ``stop()`` and ``start()`` take it down (connection refused) and back up on the
same port.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass
class Behaviour:
    """How the fake answers one query."""

    series: int = 2
    delay_seconds: float = 0.0
    status: int = 200  # answered ``failures`` times (-1: always) before answering normally
    failures: int = 0
    succeed_first: int = 0  # answer this many requests normally before the failures start
    error: str | None = None  # a PromQL error: HTTP 400, ``errorType: bad_data``
    warnings: tuple[str, ...] = ()
    gaps: bool = False  # odd-numbered series miss every third point
    special_values: bool = False  # series 0 carries NaN, +Inf and -Inf points


def value_at(index: int, seconds: float) -> float:
    """The fake's data: deterministic per (series, time), so clean and healed pulls agree."""
    return round(index * 1000 + (seconds % 86_400) / 60.0, 6)


class FakePrometheus:
    """The server and its switchboard; ``url`` is stable across ``stop()``/``start()``."""

    def __init__(self, data_start: float | None = None, data_end: float | None = None) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.default = Behaviour()
        self.data_start = data_start
        self.data_end = data_end
        self.requests: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def behaviour(self, query: str) -> Behaviour:
        return self.behaviours.get(query, self.default)

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", self.port), handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def answer(self, query: str, start: float, end: float, step: float) -> tuple[int, Any]:
        """The (status, JSON body) for one request, consuming a failure if one is due."""
        with self._lock:
            self.requests.append((query, start, end))
            rule = self.behaviour(query)
            failing = rule.failures != 0 and rule.status != 200 and rule.succeed_first <= 0
            if failing and rule.failures > 0:
                rule.failures -= 1
            rule.succeed_first -= 1
        if rule.delay_seconds:
            time.sleep(rule.delay_seconds)
        if failing:
            return rule.status, _error("unavailable", f"injected HTTP {rule.status}")
        if rule.error is not None:
            return 400, _error("bad_data", rule.error)
        body: dict[str, Any] = {
            "status": "success",
            "data": {"resultType": "matrix", "result": self._matrix(query, rule, start, end, step)},
        }
        if rule.warnings:
            body["warnings"] = list(rule.warnings)
        return 200, body

    def _matrix(
        self, query: str, rule: Behaviour, start: float, end: float, step: float
    ) -> list[dict[str, Any]]:
        times = start + step * np.arange(math.floor((end - start) / step + 1e-9) + 1)
        if self.data_start is not None:
            times = times[times >= self.data_start]
        if self.data_end is not None:
            times = times[times <= self.data_end]
        result = []
        for index in range(rule.series):
            labels = {"instance": f"host-{index:05d}:9100", "job": "fake"}
            if _NAME.match(query):
                labels["__name__"] = query
            values = [[float(t), repr(value_at(index, float(t)))] for t in times]
            if rule.gaps and index % 2 == 1:
                values = [v for k, v in enumerate(values) if k % 3 != 0]
            if rule.special_values and index == 0:
                for k in range(0, len(values), 4):
                    values[k][1] = ("NaN", "+Inf", "-Inf")[(k // 4) % 3]
            if values:
                result.append({"metric": labels, "values": values})
        return result


def _error(kind: str, message: str) -> dict[str, str]:
    return {"status": "error", "errorType": kind, "error": message}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout) leaves a broken pipe; that is the point, not news."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakePrometheus

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``fake.requests`` instead."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/api/v1/query_range":
            self._send(404, {"status": "error", "errorType": "not_found", "error": url.path})
            return
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            query = params["query"]
            start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        except (KeyError, ValueError) as exc:
            self._send(400, _error("bad_data", f"invalid parameter: {exc}"))
            return
        self._send(*self.fake.answer(query, start, end, step))

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
