"""The engine's HTTP port over real sockets, and a real Prometheus scraping it."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need_binary
from vigil import metrics
from vigil.http import HttpServer, start_http_server
from vigil.store import Store


class _Status:
    def __init__(self, phase: str, message: str = "") -> None:
        self.phase = phase
        self.message = message


def request(server: HttpServer, path: str, method: str = "GET") -> tuple[int, str, Any]:
    """Status, content type and decoded body (JSON when it is JSON) of one request."""
    req = urllib.request.Request(
        f"{server.url}{path}", method=method, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
    content_type = headers.get("Content-Type", "")
    body = json.loads(raw) if content_type.startswith("application/json") else raw.decode()
    return status, content_type, body


@pytest.fixture
def serve() -> Iterator[Callable[..., HttpServer]]:
    started: list[HttpServer] = []

    def start(
        phase: str = "running",
        message: str = "",
        snapshot: Callable[[], str] | None = None,
    ) -> HttpServer:
        server = start_http_server(
            "127.0.0.1",
            0,
            metrics=metrics.render,
            health=lambda: _Status(phase, message),
            snapshot=snapshot,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_port_zero_picks_a_free_port(serve: Callable[..., HttpServer]) -> None:
    first, second = serve(), serve()
    assert first.port > 0 and second.port > 0 and first.port != second.port


def test_healthz_is_ok_only_when_running(serve: Callable[..., HttpServer]) -> None:
    assert request(serve("running"), "/healthz")[::2] == (
        200,
        {"status": "ok", "phase": "running"},
    )
    status, content_type, body = request(serve("failed", "OSError: disk full"), "/healthz")
    assert (status, content_type.split(";")[0]) == (503, "application/json")
    assert body == {"status": "unavailable", "phase": "failed", "message": "OSError: disk full"}
    assert request(serve("backfilling", "pulling"), "/healthz")[0] == 503


def test_healthz_answers_503_when_health_itself_fails() -> None:
    def broken() -> _Status:
        raise RuntimeError("status unavailable")

    server = start_http_server("127.0.0.1", 0, metrics=metrics.render, health=broken)
    try:
        status, _, body = request(server, "/healthz")
    finally:
        server.stop()
    assert status == 503
    assert body["message"] == "RuntimeError: status unavailable"


def test_snapshot_returns_the_written_path(
    serve: Callable[..., HttpServer], tmp_path: Path
) -> None:
    target = tmp_path / "snapshots" / "2026-05-04T10-00"

    def snapshot() -> str:
        target.mkdir(parents=True)
        return str(target)

    status, _, body = request(serve(snapshot=snapshot), "/api/v1/snapshot", "POST")
    assert (status, body) == (200, {"path": str(target)})
    assert target.is_dir()


def test_snapshot_is_404_when_not_configured(serve: Callable[..., HttpServer]) -> None:
    status, _, body = request(serve(), "/api/v1/snapshot", "POST")
    assert status == 404 and "not configured" in body["error"]


def test_a_failing_snapshot_is_500_with_the_message_only(
    serve: Callable[..., HttpServer],
) -> None:
    def snapshot() -> str:
        raise PermissionError("data/snapshots is read-only")

    status, content_type, body = request(serve(snapshot=snapshot), "/api/v1/snapshot", "POST")
    assert status == 500 and content_type.startswith("application/json")
    assert body == {"error": "PermissionError: data/snapshots is read-only"}
    assert "Traceback" not in json.dumps(body)


def test_unknown_paths_are_404_and_wrong_methods_405(serve: Callable[..., HttpServer]) -> None:
    server = serve(snapshot=lambda: "x")
    assert request(server, "/")[0] == 404
    assert request(server, "/metrics/extra")[0] == 404
    assert request(server, "/api/v1/silences", "POST")[0] == 404
    assert request(server, "/api/v1/rules", "POST")[0] == 405  # rules are read-only here
    assert request(server, "/api/v1/rules")[0] == 404  # and served only when configured
    assert request(server, "/api/v1/alerts", "POST")[0] == 405
    assert request(server, "/api/v1/snapshot")[0] == 405  # a GET must not write snapshots
    assert request(server, "/metrics", "POST")[0] == 405


def test_metrics_are_served_in_the_prometheus_text_format(
    serve: Callable[..., HttpServer],
) -> None:
    status, content_type, body = request(serve(), "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert "# TYPE vigil_job_runs_total counter" in body


def test_a_taken_port_is_reported_clearly(serve: Callable[..., HttpServer]) -> None:
    taken = serve().port
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{taken}"):
        start_http_server("127.0.0.1", taken, metrics=metrics.render, health=lambda: _Status("x"))


def test_stop_frees_the_port(serve: Callable[..., HttpServer]) -> None:
    server = serve()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    again = start_http_server(
        "127.0.0.1", port, metrics=metrics.render, health=lambda: _Status("x")
    )
    again.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())["data"]["result"]
    except (OSError, ValueError):
        return []  # Prometheus still starting


@pytest.mark.integration
def test_a_real_prometheus_scrapes_vigil(store: Store, tmp_path: Path) -> None:
    binary = need_binary("prometheus")
    collector = metrics.bind_store(store, lambda: "running")
    vigil = start_http_server(
        "127.0.0.1", 0, metrics=metrics.render, health=lambda: _Status("running")
    )
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: vigil\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{vigil.port}']}}]\n"
    )
    log_path = tmp_path / "prometheus.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        up, phase, healthy = _scraped_by(prometheus, base)
    finally:
        prometheus.terminate()
        try:
            prometheus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prometheus.kill()
            prometheus.wait()
        vigil.stop()
        metrics.unbind_store(collector)
    tail = log_path.read_text(errors="replace")[-2000:]
    assert up, f"Prometheus never scraped Vigil successfully:\n{tail}"
    assert [float(r["value"][1]) for r in phase] == [1.0]
    assert healthy


def _scraped_by(prometheus: subprocess.Popen[bytes], base: str) -> tuple[list[Any], ...]:
    """Wait for a successful scrape, then read back what Prometheus stored from Vigil."""
    deadline = time.monotonic() + 20
    up: list[Any] = []
    while not up and time.monotonic() < deadline and prometheus.poll() is None:
        time.sleep(0.25)
        up = _query(base, 'up{job="vigil"} == 1')
    phase = _query(base, 'vigil_engine_phase{job="vigil", phase="running"}')
    healthy = _query(base, 'vigil_scrape_error{job="vigil"} == 0')
    return up, phase, healthy
