"""The forward job: Vigil's own alerts pushed to Alertmanagers, real ones where it matters."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from jobs.forward import ForwardError, forward_alerts, forward_job, outgoing_alerts
from tests.alertmanager import BINARY, AlertmanagerServer, webhook_config
from tests.conftest import need_binary
from tests.sources.promserver import free_port
from vigil.alert_actions import resolve_alert
from vigil.clock import utc_now
from vigil.engine import JOBS, Engine
from vigil.notify_settings import AlertmanagerTarget
from vigil.settings import load_settings
from vigil.store import Store

EXTERNAL = "http://vigil.example:8501"
NOW = utc_now().floor("s")  # a real Alertmanager compares endsAt with its clock
INTERVAL = 60


def _alert(store: Store, name: str, *, state: str = "firing", fired: float = -120,
           resolved: float | None = None, source: str = "vigil",
           **extra: str) -> str:  # fmt: skip
    """A stored alert fired ``fired`` seconds before NOW; returns its id."""
    labels = {"alertname": name, "service": "checkout", "severity": "critical",
              "instance": "web-1:9100", **extra}  # fmt: skip
    alert_id = f"{name}-20260101T000000"
    at = (NOW + pd.Timedelta(seconds=fired)).to_pydatetime()
    end = None if resolved is None else (NOW + pd.Timedelta(seconds=resolved)).to_pydatetime()
    store.execute(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "service, group_key, state, active_at, fired_at, resolved_at, last_eval_at, source) "
        "VALUES (?, ?, ?, ?, ?, 'critical', 'checkout', 'checkout', ?, ?, ?, ?, ?, ?)",
        [alert_id, f"fp-{name}", name, json.dumps(labels),
         json.dumps({"summary": f"{name} on web-1"}), state, at,
         None if state == "pending" else at, end, NOW.to_pydatetime(), source],
    )  # fmt: skip
    return alert_id


def _stamp(seconds: float) -> str:
    return (NOW + pd.Timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_firing_and_recently_resolved_vigil_alerts_are_sent(store: Store) -> None:
    firing = _alert(store, "LatencyHigh", team="")
    _alert(store, "ErrorsHigh", state="resolved", fired=-900, resolved=-300)
    _alert(store, "Old", state="resolved", fired=-7200, resolved=-1000)  # over 15 min ago
    _alert(store, "Pending", state="pending")
    _alert(store, "Received", source="alertmanager")
    sent = outgoing_alerts(store, NOW, INTERVAL, EXTERNAL + "/")
    assert [a["labels"]["alertname"] for a in sent] == ["ErrorsHigh", "LatencyHigh"]
    resolved, fire = sent
    assert fire == {
        "labels": {"alertname": "LatencyHigh", "service": "checkout", "severity": "critical",
                   "instance": "web-1:9100"},  # the empty label is left out
        "annotations": {"summary": "LatencyHigh on web-1"},
        "startsAt": _stamp(-120), "endsAt": _stamp(4 * INTERVAL),
        "generatorURL": f"{EXTERNAL}/alerts?alert={firing}",
    }  # fmt: skip
    assert (resolved["startsAt"], resolved["endsAt"]) == (_stamp(-900), _stamp(-300))


def test_a_vigil_alert_without_a_source_is_vigils_own(store: Store) -> None:
    _alert(store, "Legacy")
    store.execute("UPDATE alerts SET source = NULL")
    assert len(outgoing_alerts(store, NOW, INTERVAL, EXTERNAL)) == 1


class _Capture(BaseHTTPRequestHandler):
    """An Alertmanager stand-in that records what it is sent and answers ``status``."""

    requests: list[tuple[str, dict[str, str], Any]]
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[tuple[str, type[_Capture]]]:
    handler = type("Handler", (_Capture,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_alerts_go_in_batches_with_the_bearer_token(
    store: Store, capture: tuple[str, type[_Capture]]
) -> None:
    url, handler = capture
    for i in range(300):
        _alert(store, f"Alert{i:03d}")
    target = AlertmanagerTarget(url=url + "/", bearer_token="am-token")
    summary = forward_alerts(store, [target], NOW, INTERVAL, EXTERNAL)
    assert summary.alerts == 300 and summary.errors == []
    assert [len(body) for _, _, body in handler.requests] == [256, 44]
    path, headers, _ = handler.requests[0]
    assert (path, headers["Authorization"]) == ("/api/v2/alerts", "Bearer am-token")


def test_a_refusing_alertmanager_is_reported_with_its_answer(
    store: Store, capture: tuple[str, type[_Capture]]
) -> None:
    url, handler = capture
    handler.status = 400
    _alert(store, "LatencyHigh")
    [result] = forward_alerts(store, [AlertmanagerTarget(url=url)], NOW, INTERVAL, "").results
    assert (result.sent, result.error) == (0, "HTTP 400: ")


def test_no_alertmanagers_means_nothing_to_do(store: Store, data_dir: Path) -> None:
    _alert(store, "LatencyHigh")
    assert forward_job(store, load_settings(data_dir=data_dir)) == 0
    assert "forward" in JOBS


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerServer]:
    server = AlertmanagerServer(need_binary(BINARY), tmp_path / "am").start()
    yield server
    server.stop()


def _held(manager: AlertmanagerServer, name: str) -> list[dict[str, Any]]:
    return [a for a in manager.alerts() if a["labels"].get("alertname") == name]


@pytest.mark.integration
def test_a_real_alertmanager_holds_vigils_alert_until_vigil_resolves_it(
    store: Store, alertmanager: AlertmanagerServer
) -> None:
    alert_id = _alert(store, "LatencyHigh")
    _alert(store, "Received", source="alertmanager")
    target = AlertmanagerTarget(url=alertmanager.url)
    assert forward_alerts(store, [target], NOW, INTERVAL, EXTERNAL).errors == []
    [held] = _held(alertmanager, "LatencyHigh")
    assert held["labels"] == {"alertname": "LatencyHigh", "service": "checkout",
                              "severity": "critical", "instance": "web-1:9100"}  # fmt: skip
    assert held["generatorURL"] == f"{EXTERNAL}/alerts?alert={alert_id}"
    assert held["status"]["state"] == "active"
    ends = pd.Timestamp(held["endsAt"]).tz_localize(None)
    assert abs(ends - (NOW + pd.Timedelta(seconds=4 * INTERVAL))) < pd.Timedelta(seconds=1)
    assert _held(alertmanager, "Received") == []  # received alerts are not sent back
    resolve_alert(store, alert_id, "alice", "fixed")
    summary = forward_alerts(store, [target], utc_now(), INTERVAL, EXTERNAL)
    assert summary.errors == [] and summary.alerts == 1
    assert _held(alertmanager, "LatencyHigh") == []  # endsAt in the past: resolved


@pytest.mark.integration
def test_a_down_alertmanager_is_reported_and_the_others_still_get_alerts(
    store: Store, alertmanager: AlertmanagerServer, data_dir: Path
) -> None:
    _alert(store, "LatencyHigh")
    down = f"http://127.0.0.1:{free_port()}"
    targets = (AlertmanagerTarget(url=down, timeout_seconds=2),
               AlertmanagerTarget(url=alertmanager.url))  # fmt: skip
    summary = forward_alerts(store, targets, NOW, INTERVAL, EXTERNAL)
    dead, alive = summary.results
    assert dead.sent == 0 and "ConnectionError" in str(dead.error)
    assert (alive.sent, alive.error) == (1, None)
    assert len(_held(alertmanager, "LatencyHigh")) == 1
    settings = load_settings(data_dir=data_dir, alertmanagers=[t.model_dump() for t in targets],
                             external_url=EXTERNAL)  # fmt: skip
    with pytest.raises(ForwardError, match=f"{down}: ConnectionError"):
        forward_job(store, settings)


@pytest.mark.integration
def test_vigils_alerts_coming_back_through_alertmanager_are_skipped(
    data_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        data_dir=data_dir, demo_enabled=False, host_enabled=False, scheduler_enabled=False,
        http_port=free_port(), http_host="127.0.0.1", external_url=EXTERNAL,
    )  # fmt: skip
    engine = Engine(settings)
    assert engine.http is not None
    config = webhook_config(f"{engine.http.url}/api/v1/alerts/webhook")
    manager = AlertmanagerServer(need_binary(BINARY), tmp_path / "am", config).start()
    try:
        _alert(engine.store, "LatencyHigh")
        target = AlertmanagerTarget(url=manager.url)
        assert forward_alerts(engine.store, [target], NOW, INTERVAL, EXTERNAL).errors == []
        deadline = time.monotonic() + 30
        while manager.notifications_delivered() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert manager.notifications_delivered() >= 1, manager.log()
        assert engine.store.one("SELECT count(*) FROM alerts") == 1  # only Vigil's own
    finally:
        manager.stop()
        engine.stop()
