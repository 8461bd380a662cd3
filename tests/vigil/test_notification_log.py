"""The outbox as people see it: notifications with their attempts, filtered by status and
by alert, dead letters sent again, and a receiver tested from the command line; on the
data dir and through the running engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_vigil, serving_engine
from tests.notify.receivers import WebhookService
from tests.sources.promserver import free_port
from vigil.errors import VigilError
from vigil.notification_log import list_notifications, requeue
from vigil.store import Store

T0 = pd.Timestamp("2026-12-01 12:00:00")


def _note(store: Store, nid: str, status: str, alerts: list[str], minutes: int = 0) -> None:
    at = (T0 + pd.Timedelta(minutes=minutes)).to_pydatetime()
    store.execute(
        "INSERT INTO notifications (notification_id, alert_id, channel, payload, status, "
        "attempts, next_attempt_at, created_at, alert_ids, last_error) "
        "VALUES (?, ?, 'ops', '{}', ?, 1, ?, ?, ?, ?)",
        [nid, alerts[0], status, at, at, json.dumps(alerts),
         "permanent error: HTTP 403" if status == "dead" else None],
    )  # fmt: skip
    store.execute(
        "INSERT INTO notification_attempts (notification_id, attempt, started_at, ended_at, "
        "outcome, status_code, detail) VALUES (?, 1, ?, ?, ?, ?, 'HTTP 403')",
        [nid, at, at, "dead" if status == "dead" else "sent", 403 if status == "dead" else 200],
    )


def _outbox(store: Store) -> None:
    _note(store, "g-1", "sent", ["a-1", "a-2"], 0)
    _note(store, "g-2", "dead", ["a-2"], 5)
    _note(store, "h-1", "sent", ["a-3"], 10)


def test_notifications_list_newest_first_with_attempts_and_filters(store: Store) -> None:
    _outbox(store)
    assert [n["notification_id"] for n in list_notifications(store, [])] == ["h-1", "g-2", "g-1"]
    [dead] = list_notifications(store, ["dead"])
    assert dead["last_error"] == "permanent error: HTTP 403"
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in dead["attempt_log"]] == [
        (1, "dead", 403)]  # fmt: skip
    by_alert = list_notifications(store, [], alert_id="a-2")
    assert [n["notification_id"] for n in by_alert] == ["g-2", "g-1"]
    with pytest.raises(VigilError, match="unknown status lost"):
        list_notifications(store, ["lost"])


def test_a_dead_letter_is_queued_again_and_audited_but_not_a_sent_one(store: Store) -> None:
    _outbox(store)
    assert requeue(store, "g-2", "alice") == {"notification_id": "g-2", "status": "pending"}
    row = store.df("SELECT status, attempts FROM notifications WHERE notification_id = 'g-2'")
    assert row.values.tolist() == [["pending", 0]]
    audit = store.df("SELECT actor, action, target FROM audit_log")
    assert audit.values.tolist() == [["alice", "notification.requeue", "g-2"]]
    with pytest.raises(VigilError, match="is sent; only dead or skipped"):
        requeue(store, "g-1", "alice")
    with pytest.raises(VigilError, match="no notification 'nope'"):
        requeue(store, "nope", "alice")


def test_the_command_lists_here_and_through_the_engine(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir)
    _outbox(store)
    store.close()
    here = run_vigil(data_dir, "notifications", "list", "--status", "dead", "--json")
    assert here.returncode == 0, here.stderr
    assert [json.loads(line)["notification_id"] for line in here.stdout.splitlines()] == ["g-2"]
    port = free_port()
    with serving_engine(data_dir, port):
        there = run_vigil(data_dir, "notifications", "list", "--alert", "a-2", "--json",
                          port=port)  # fmt: skip
        assert there.returncode == 0, there.stderr
        ids = [json.loads(line)["notification_id"] for line in there.stdout.splitlines()]
        assert ids == ["g-2", "g-1"]
        again = run_vigil(data_dir, "notifications", "requeue", "g-2", port=port)
        assert again.returncode == 0 and "g-2 is pending" in again.stdout
        refused = run_vigil(data_dir, "notifications", "requeue", "g-1", port=port)
        assert refused.returncode == 2 and "only dead or skipped" in refused.stderr


def _test_command(tmp_path: Path, receivers: list[dict], name: str) -> subprocess.CompletedProcess:
    env = os.environ | {"VIGIL_CONFIG": str(tmp_path / "none.toml"),
                        "VIGIL_RECEIVERS": json.dumps(receivers)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "vigil", "notifications", "test", name],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip


def test_a_receiver_is_tested_with_a_sample_and_its_error_is_exact(tmp_path: Path) -> None:
    with WebhookService(bearer_token="s3cret-token") as hook:
        good = {"name": "hook", "type": "webhook", "url": hook.url,
                "bearer_token": "s3cret-token"}  # fmt: skip
        done = _test_command(tmp_path, [good], "hook")
        assert done.returncode == 0 and "hook: delivered" in done.stdout, done.stderr
        [sent] = hook.requests
        assert sent.json()["alerts"][0]["labels"]["alertname"] == "VigilTestNotification"
        wrong = {**good, "bearer_token": "wrong-token-value"}
        refused = _test_command(tmp_path, [wrong], "hook")
        assert refused.returncode == 2 and "401" in refused.stderr
        assert "wrong-token-value" not in refused.stderr
    missing = _test_command(tmp_path, [], "nobody")
    assert missing.returncode == 2 and "no receiver 'nobody'" in missing.stderr
