"""The notify job: send the outbox, at least once, without storms.

A notification is in ``notifications`` before anyone tries to send it (the dispatch job
wrote it). Each attempt is recorded as ``sending`` before the request goes out and
settled after, with the notification's new status in the same transaction: a process
killed mid-send leaves the attempt ``sending`` and the notification ``pending``, so the
next run marks the attempt ``interrupted`` and sends again (receivers deduplicate on the
notification's id). Transient failures retry with exponential backoff and jitter, a
``Retry-After`` is honoured, permanent ones (a 4xx, a refused signature) go straight to
the dead letters with the reason, and so does a notification that used up its attempts.
Each receiver has a rate limit counted from the recorded attempts, so it holds across
restarts; a notification over the limit just waits for a later run. Receivers are sent
to in parallel (a slow one does not hold up the others), each in order.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from jobs.channels.base import Channel, Delivery
from vigil.clock import utc_now
from vigil.metrics import NOTIFICATIONS
from vigil.store import Store

log = logging.getLogger(__name__)
BATCH = 500  # notifications looked at per run and receiver


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 900.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: doubling from ``backoff_seconds`` up to
        the cap, half of it random ("equal jitter": never zero, never in lockstep), and
        never sooner than the receiver asked."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        wait = ceiling / 2 + rng.uniform(0, ceiling / 2)
        return max(wait, retry_after or 0.0)


@dataclass(frozen=True)
class NotifySummary:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    waiting: int = 0  # held back by a rate limit
    interrupted: int = 0  # attempts found cut short by a previous process


def settle_interrupted(store: Store) -> int:
    """Attempts left ``sending`` by a process that died; their notifications are still
    pending and go out again. Safe only while no send is in flight (one notify job at a
    time, so: at the start of a run)."""
    rows = store.df(
        "UPDATE notification_attempts SET outcome = 'interrupted', ended_at = ?, "
        "detail = 'the process stopped during this attempt; sent again' "
        "WHERE outcome = 'sending' RETURNING attempt_id",
        [utc_now().to_pydatetime()],
    )
    return len(rows)


def _sent_last_minute(store: Store, now: pd.Timestamp) -> dict[str, int]:
    rows = store.df(
        "SELECT n.channel, count(*) AS n FROM notification_attempts a "
        "JOIN notifications n USING (notification_id) WHERE a.started_at > ? GROUP BY 1",
        [(now - pd.Timedelta(minutes=1)).to_pydatetime()],
    )
    return dict(zip(rows["channel"], rows["n"].astype(int), strict=True))


def _due(store: Store, now: pd.Timestamp) -> pd.DataFrame:
    return store.df(
        "SELECT notification_id, channel, payload, attempts FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY channel ORDER BY created_at, "
        "  notification_id) AS k FROM notifications "
        "  WHERE status = 'pending' AND next_attempt_at <= ?) "
        "WHERE k <= ? ORDER BY channel, k",
        [now.to_pydatetime(), BATCH],
    )


def _skip_unknown(store: Store, due: pd.DataFrame, channels: Mapping[str, Channel]) -> int:
    unknown = sorted(set(due["channel"]) - set(channels))
    for name in unknown:
        store.execute(
            "UPDATE notifications SET status = 'skipped', last_error = ? "
            "WHERE status = 'pending' AND channel = ?",
            [f"no receiver named {name!r} is configured", name],
        )
    return len(unknown)


def _attempt(store: Store, channel: Channel, row: tuple, policy: RetryPolicy,
             rng: random.Random, clock: Callable[[], pd.Timestamp]) -> str:  # fmt: skip
    """One attempt at one notification, recorded before and after; its outcome."""
    notification_id, payload, attempts = row
    attempt = int(attempts) + 1
    attempt_id = store.one(
        "INSERT INTO notification_attempts (notification_id, attempt, started_at, outcome) "
        "VALUES (?, ?, ?, 'sending') RETURNING attempt_id",
        [notification_id, attempt, clock().to_pydatetime()],
    )
    try:
        result = channel.send(notification_id, json.loads(payload))
    except Exception as exc:  # a channel's bug must not lose the notification
        log.exception("channel %s failed on %s", channel.name, notification_id)
        result = Delivery(False, True, None, f"{type(exc).__name__} in the {channel.kind} channel")
    ended = clock()
    if result.ok:
        outcome, status, next_at, error = "sent", "sent", None, None
    elif result.retryable and attempt < policy.max_attempts:
        wait = policy.delay(attempt, rng, result.retry_after_seconds)
        outcome, status, error = "retry", "pending", result.detail
        next_at = (ended + pd.Timedelta(seconds=wait)).floor("us").to_pydatetime()
    else:
        why = "permanent error" if not result.retryable else f"gave up after {attempt} attempts"
        outcome, status, next_at, error = "dead", "dead", None, f"{why}: {result.detail}"
    with store.transaction() as cur:
        cur.execute(
            "UPDATE notification_attempts SET outcome = ?, ended_at = ?, status_code = ?, "
            "detail = ? WHERE attempt_id = ?",
            [outcome, ended.to_pydatetime(), result.status_code, result.detail, attempt_id],
        )
        cur.execute(
            "UPDATE notifications SET status = ?, attempts = ?, next_attempt_at = ?, "
            "last_error = ?, sent_at = ? WHERE notification_id = ?",
            [status, attempt, next_at, error,
             ended.to_pydatetime() if result.ok else None, notification_id],
        )  # fmt: skip
    NOTIFICATIONS.labels(channel.kind, outcome).inc()
    return outcome


def _send_channel(store: Store, channel: Channel, rows: list[tuple], policy: RetryPolicy,
                  seed: int, clock: Callable[[], pd.Timestamp]) -> list[str]:  # fmt: skip
    rng = random.Random(seed)
    return [_attempt(store, channel, row, policy, rng, clock) for row in rows]


def send_outbox(
    store: Store,
    channels: Mapping[str, Channel],
    limits: Mapping[str, int],
    policy: RetryPolicy = RetryPolicy(),
    now: pd.Timestamp | None = None,
    clock: Callable[[], pd.Timestamp] = utc_now,
) -> NotifySummary:
    """Send every pending notification that is due, within each receiver's per-minute
    ``limits``; ``now`` decides what is due (the clock by default)."""
    interrupted = settle_interrupted(store)
    now = clock() if now is None else now
    due = _due(store, now)
    _skip_unknown(store, due, channels)
    used = _sent_last_minute(store, now)
    work: dict[str, list[tuple]] = {}
    waiting = 0
    for name, rows in due.groupby("channel", sort=True):
        if name not in channels:
            continue
        room = max(0, limits.get(name, 30) - used.get(name, 0))
        batch = list(rows[["notification_id", "payload", "attempts"]].itertuples(index=False))
        work[name], waiting = batch[:room], waiting + max(0, len(batch) - room)
    outcomes: list[str] = []
    if work:
        with ThreadPoolExecutor(max_workers=min(8, len(work))) as pool:
            futures = [pool.submit(_send_channel, store, channels[name], rows, policy,
                                   hash((name, now.value)), clock)
                       for name, rows in work.items() if rows]  # fmt: skip
            for future in futures:
                outcomes += future.result()
    return NotifySummary(outcomes.count("sent"), outcomes.count("retry"),
                         outcomes.count("dead"), waiting, interrupted)  # fmt: skip
