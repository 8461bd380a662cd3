"""The notify job over a real store: what is sent, retried, given up, held back by a rate
limit, and resent after an interrupted attempt. Channels here are scripted (each answer
given in advance), since these tests are about the job's decisions; the channels' wire
protocols are tested against local servers in ``tests/notify``."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import pandas as pd
import pytest

from jobs.channels.base import Delivery
from jobs.notify import RetryPolicy, send_outbox
from vigil.store import Store

T0 = pd.Timestamp("2026-12-01 12:00:00")
POLICY = RetryPolicy(max_attempts=3, backoff_seconds=10, backoff_max_seconds=60)


@dataclass
class Scripted:
    """A channel that answers from a script (the last answer repeats) and logs calls."""

    answers: list[Delivery]
    name: str = "ops"
    kind: str = "webhook"
    calls: list[str] = field(default_factory=list)

    def send(self, notification_id: str, payload: dict) -> Delivery:
        self.calls.append(notification_id)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def _outbox(store: Store, *ids: str, channel: str = "ops") -> None:
    for i, nid in enumerate(ids):
        store.execute(
            "INSERT INTO notifications (notification_id, alert_id, channel, payload, status, "
            "attempts, next_attempt_at, created_at) VALUES (?, 'a-1', ?, ?, 'pending', 0, ?, ?)",
            [nid, channel, json.dumps({"version": "4", "alerts": []}), T0.to_pydatetime(),
             (T0 + pd.Timedelta(seconds=i)).to_pydatetime()],
        )  # fmt: skip


def _row(store: Store, nid: str) -> dict:
    frame = store.df("SELECT * FROM notifications WHERE notification_id = ?", [nid])
    return frame.iloc[0].to_dict()


def _run(store: Store, channel: Scripted, at: pd.Timestamp, limit: int = 30):
    return send_outbox(store, {channel.name: channel}, {channel.name: limit}, POLICY,
                       now=at, clock=lambda: at)  # fmt: skip


def test_a_delivered_notification_is_sent_once_with_its_attempt_recorded(store: Store) -> None:
    _outbox(store, "g-1")
    channel = Scripted([Delivery(True, status_code=200, detail="ok")])
    assert _run(store, channel, T0).sent == 1
    assert _run(store, channel, T0 + pd.Timedelta(minutes=5)).sent == 0
    assert channel.calls == ["g-1"]
    row = _row(store, "g-1")
    assert (row["status"], row["attempts"]) == ("sent", 1)
    attempts = store.df("SELECT outcome, status_code FROM notification_attempts")
    assert attempts.values.tolist() == [["sent", 200]]


def test_transient_failures_back_off_then_dead_letter_with_the_reason(store: Store) -> None:
    _outbox(store, "g-1")
    channel = Scripted([Delivery(False, True, 503, "HTTP 503: unavailable")])
    assert _run(store, channel, T0).retried == 1
    first = pd.Timestamp(_row(store, "g-1")["next_attempt_at"])
    assert T0 + pd.Timedelta(seconds=5) <= first <= T0 + pd.Timedelta(seconds=10)
    assert _run(store, channel, first - pd.Timedelta(seconds=1)).retried == 0  # not yet due
    assert _run(store, channel, first).retried == 1
    second = pd.Timestamp(_row(store, "g-1")["next_attempt_at"])
    assert pd.Timedelta(seconds=10) <= second - first <= pd.Timedelta(seconds=20)  # doubled
    assert _run(store, channel, second).dead == 1
    row = _row(store, "g-1")
    assert row["status"] == "dead" and row["attempts"] == 3
    assert row["last_error"] == "gave up after 3 attempts: HTTP 503: unavailable"
    assert len(channel.calls) == 3


def test_a_permanent_error_goes_to_the_dead_letters_at_once(store: Store) -> None:
    _outbox(store, "g-1")
    channel = Scripted([Delivery(False, False, 403, "HTTP 403: invalid_token")])
    assert _run(store, channel, T0).dead == 1
    assert _run(store, channel, T0 + pd.Timedelta(hours=1)).dead == 0  # no retry storm
    assert _row(store, "g-1")["last_error"] == "permanent error: HTTP 403: invalid_token"
    assert channel.calls == ["g-1"]


def test_retry_after_from_the_receiver_is_honoured(store: Store) -> None:
    _outbox(store, "g-1")
    channel = Scripted([Delivery(False, True, 429, "HTTP 429", retry_after_seconds=120)])
    _run(store, channel, T0)
    assert pd.Timestamp(_row(store, "g-1")["next_attempt_at"]) == T0 + pd.Timedelta(seconds=120)


def test_the_rate_limit_holds_the_rest_for_a_later_run_in_order(store: Store) -> None:
    _outbox(store, *[f"g-{i}" for i in range(5)])
    channel = Scripted([Delivery(True)])
    summary = _run(store, channel, T0, limit=2)
    assert (summary.sent, summary.waiting) == (2, 3)
    assert _run(store, channel, T0 + pd.Timedelta(seconds=30), limit=2).sent == 0
    assert _run(store, channel, T0 + pd.Timedelta(seconds=61), limit=2).sent == 2
    assert channel.calls == ["g-0", "g-1", "g-2", "g-3"]


def test_an_attempt_cut_short_by_a_dead_process_is_sent_again(store: Store) -> None:
    _outbox(store, "g-1")
    store.execute(
        "INSERT INTO notification_attempts (notification_id, attempt, started_at, outcome) "
        "VALUES ('g-1', 1, ?, 'sending')",
        [T0.to_pydatetime()],
    )
    channel = Scripted([Delivery(True)])
    summary = _run(store, channel, T0 + pd.Timedelta(seconds=5))
    assert (summary.interrupted, summary.sent) == (1, 1)
    outcomes = store.df("SELECT outcome FROM notification_attempts ORDER BY attempt_id")
    assert outcomes["outcome"].tolist() == ["interrupted", "sent"]


def test_a_receiver_nobody_configured_is_skipped_with_why(store: Store) -> None:
    _outbox(store, "g-1", channel="default")
    summary = _run(store, Scripted([Delivery(True)]), T0)
    assert summary.sent == 0
    row = _row(store, "g-1")
    assert row["status"] == "skipped"
    assert row["last_error"] == "no receiver named 'default' is configured"


def test_a_channel_that_raises_keeps_the_notification_for_a_retry(store: Store) -> None:
    class Broken(Scripted):
        def send(self, notification_id: str, payload: dict) -> Delivery:
            raise RuntimeError("boom")

    _outbox(store, "g-1")
    assert _run(store, Broken([]), T0).retried == 1
    row = _row(store, "g-1")
    assert row["status"] == "pending" and "RuntimeError" in row["last_error"]


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_doubles_with_jitter_up_to_the_cap(attempt: int) -> None:
    policy = RetryPolicy(backoff_seconds=5, backoff_max_seconds=900)
    rng = random.Random(attempt)
    delays = [policy.delay(attempt, rng) for _ in range(200)]
    ceiling = min(900, 5 * 2 ** (attempt - 1))
    assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
    assert len(set(delays)) > 100  # jittered, not in lockstep
