"""Alerts to receivers through the real pipeline (dispatch, outbox, channels, local
servers speaking the services' protocols) when the receiver misbehaves: down, then back;
5xx then well; a 4xx (no retry storm); one receiver failing while another works."""

from __future__ import annotations

import json

import pandas as pd

from jobs.channels import build_channel
from jobs.dispatch import dispatch_notifications
from jobs.notify import RetryPolicy, send_outbox
from tests.notify.receivers import DingTalkService, WebhookService, closed_port
from vigil.clock import utc_now
from vigil.notify_settings import Receiver
from vigil.settings import load_settings
from vigil.store import Store

FAST = RetryPolicy(max_attempts=4, backoff_seconds=1, backoff_max_seconds=4)


def _firing(store: Store, service: str = "checkout") -> None:
    now = utc_now().to_pydatetime()
    labels = {"alertname": "ErrorsHigh", "service": service, "severity": "critical"}
    store.execute(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "service, state, active_at, fired_at, last_eval_at) "
        "VALUES (?, ?, 'ErrorsHigh', ?, ?, 'critical', ?, 'firing', ?, ?, ?)",
        [f"a-{service}", f"fp-{service}", json.dumps(labels),
         json.dumps({"summary": f"5xx on {service}"}), service, now, now, now],
    )  # fmt: skip


def _dispatch(store: Store, receivers: list[dict]) -> dict:
    settings = load_settings(receivers=receivers, group_wait_seconds=0)
    dispatch_notifications(store, utc_now(), settings.routing_tree(), (), "http://vigil:8501")
    return {r.name: build_channel(r) for r in settings.receivers}


def _send_until_settled(store: Store, channels: dict, runs: int = 6) -> None:
    """Run the notify job as the scheduler would, each run when the next retry is due."""
    for _ in range(runs):
        due = store.one("SELECT min(next_attempt_at) FROM notifications WHERE status = 'pending'")
        if due is None:
            return
        now = max(utc_now(), pd.Timestamp(due))
        send_outbox(store, channels, {n: 100 for n in channels}, FAST, now=now,
                    clock=lambda now=now: now)  # fmt: skip


def _statuses(store: Store) -> dict[str, tuple[str, int, str | None]]:
    rows = store.df("SELECT channel, status, attempts, last_error FROM notifications")
    return {r.channel: (r.status, r.attempts, r.last_error) for r in rows.itertuples()}


def test_a_receiver_down_then_back_gets_the_notification(store: Store) -> None:
    _firing(store)
    port = closed_port()
    down = {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}
    channels = _dispatch(store, [down])
    _send_until_settled(store, channels, runs=2)
    status, attempts, error = _statuses(store)["hook"]
    assert (status, attempts) == ("pending", 2) and "ConnectError" in error
    with WebhookService() as hook:
        channels = {"hook": build_channel(Receiver(name="hook", type="webhook", url=hook.url))}
        _send_until_settled(store, channels)
        [request] = hook.requests
    assert request.json()["alerts"][0]["annotations"]["summary"] == "5xx on checkout"
    assert _statuses(store)["hook"][:2] == ("sent", 3)


def test_server_errors_retry_and_a_client_error_does_not(store: Store) -> None:
    _firing(store)
    with WebhookService() as flaky, WebhookService(bearer_token="right") as strict:
        flaky.fail(503, "busy", times=2)
        channels = _dispatch(store, [
            {"name": "flaky", "type": "webhook", "url": flaky.url},
            {"name": "strict", "type": "webhook", "url": strict.url, "bearer_token": "wrong"},
        ])  # fmt: skip
        _send_until_settled(store, channels)
        assert len(flaky.requests) == 3
        assert len(strict.requests) == 1  # permanent: asked once, never again
    found = _statuses(store)
    assert found["flaky"][:2] == ("sent", 3)
    assert found["strict"][0] == "dead" and found["strict"][2].startswith("permanent error")
    assert "wrong" not in found["strict"][2]


def test_a_robot_that_refuses_the_signature_dead_letters_while_others_deliver(
    store: Store,
) -> None:
    _firing(store)
    with DingTalkService("tok", secret="real-secret") as robot, WebhookService() as hook:
        channels = _dispatch(store, [
            {"name": "ding", "type": "dingtalk", "url": robot.url, "secret": "stale-secret"},
            {"name": "hook", "type": "webhook", "url": hook.url},
        ])  # fmt: skip
        _send_until_settled(store, channels)
        assert len(robot.requests) == 1 and len(hook.requests) == 1
    found = _statuses(store)
    assert found["hook"][0] == "sent"
    assert found["ding"][0] == "dead" and "310000" in found["ding"][2]
    assert "stale-secret" not in found["ding"][2] and "tok" not in found["ding"][2]
    attempts = store.df("SELECT outcome FROM notification_attempts ORDER BY attempt_id")
    assert sorted(attempts["outcome"]) == ["dead", "sent"]
