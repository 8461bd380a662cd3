"""The engine killed with SIGKILL in the middle of a burst of notifications: once it is
restarted, every notification reaches the receiver at least once, and the one that was in
flight at most twice, under the same id (so the receiver can drop it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from tests.notify.receivers import WebhookService
from vigil.clock import utc_now
from vigil.store import Store

pytestmark = pytest.mark.integration
ALERTS = 120
SLOW = 0.05  # seconds the receiver takes per request: the burst lasts ~6 s


def _firing_alerts(data_dir: Path) -> None:
    """One firing alert per service: each its own group, so one notification each."""
    store = Store.open(data_dir)
    now = utc_now().to_pydatetime()
    rows = [(f"a-{i}", f"fp-{i}", "Burst", json.dumps({"alertname": "Burst",
             "service": f"svc-{i}", "severity": "warning"}), "{}", "warning", f"svc-{i}",
             "firing", now, now, now) for i in range(ALERTS)]  # fmt: skip
    store.cursor.executemany(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "service, state, active_at, fired_at, last_eval_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    store.close()


def _engine(data_dir: Path, config: Path) -> subprocess.Popen[str]:
    env = os.environ | {"VIGIL_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "vigil", "jobs", "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait(condition, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"engine exited: {process.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_sigkill_during_a_burst_loses_no_notification(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _firing_alerts(data_dir)
    with WebhookService() as receiver:
        receiver.fail(200, "", times=10 * ALERTS, delay=SLOW)  # slow, successful answers
        config = tmp_path / "vigil.toml"
        config.write_text(
            "demo_enabled = false\nhost_enabled = false\nhttp_port = 0\n"
            "group_wait_seconds = 0\ndispatch_interval_seconds = 1\n"
            'notify_interval_seconds = 1\n\n[[receivers]]\nname = "hook"\n'
            f'type = "webhook"\nurl = "{receiver.url}"\nrate_limit_per_minute = 100000\n'
        )
        victim = _engine(data_dir, config)
        try:
            _wait(lambda: len(receiver.requests) >= ALERTS // 4, victim, timeout=90)
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=30)
        assert victim.returncode == -signal.SIGKILL
        got_before = len(receiver.requests)
        assert got_before < ALERTS  # killed mid-burst

        survivor = _engine(data_dir, config)
        try:
            _wait(lambda: len({_id(r) for r in receiver.requests}) >= ALERTS, survivor, 120)
            time.sleep(1.5)  # a notify run settles the last answers
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.communicate(timeout=60)

    store = Store.open(data_dir)
    outbox = store.df("SELECT notification_id, status FROM notifications")
    attempts = store.df("SELECT outcome FROM notification_attempts")
    store.close()
    assert len(outbox) == ALERTS and set(outbox["status"]) == {"sent"}
    delivered = Counter(_id(r) for r in receiver.requests)
    assert set(delivered) == set(outbox["notification_id"])
    assert sum(n - 1 for n in delivered.values()) <= 1  # only the one in flight, if any
    assert (attempts["outcome"] == "interrupted").sum() <= 1
    assert pd.Series(list(delivered.values())).min() >= 1


def _id(request) -> str:
    return request.headers["x-vigil-notification-id"]
