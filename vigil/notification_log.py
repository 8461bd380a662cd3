"""What happened to notifications: the outbox, each one's attempts, and the ones an alert
was part of; and putting dead letters back in the queue once their receiver is fixed."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.store import Store

STATUSES = ("pending", "sent", "dead", "skipped")
_COLUMNS = ("notification_id, channel AS receiver, status, attempts, created_at, sent_at, "
            "next_attempt_at, last_error, alert_ids")  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            out[column] = [None if v is None else pd.Timestamp(v).isoformat() for v in out[column]]
    return out.to_dict("records")


def list_notifications(store: Store, statuses: list[str], alert_id: str | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:  # fmt: skip
    """Newest first; ``statuses`` empty means all; ``alert_id`` keeps the notifications
    that listed that alert. Each carries its attempts, oldest first."""
    bad = sorted(set(statuses) - set(STATUSES))
    if bad:
        raise VigilError(f"unknown status {', '.join(bad)}; use {', '.join(STATUSES)}")
    where, params = ["(len(?) = 0 OR list_contains(?, status))"], [statuses, statuses]
    if alert_id:
        where.append("list_contains(json_extract_string(alert_ids, '$[*]'), ?)")
        params.append(alert_id)
    frame = store.df(
        f"SELECT {_COLUMNS} FROM notifications WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, notification_id LIMIT ?",
        [*params, limit],
    )
    attempts = store.df(
        "SELECT notification_id, attempt, started_at, ended_at, outcome, status_code, detail "
        "FROM notification_attempts WHERE list_contains(?, notification_id) "
        "ORDER BY attempt_id",
        [frame["notification_id"].tolist()],
    )
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in _records(attempts):
        by_id.setdefault(row.pop("notification_id"), []).append(row)
    notes = _records(frame)
    for note in notes:
        note["attempt_log"] = by_id.get(note["notification_id"], [])
    return notes


def requeue(store: Store, notification_id: str, by: str) -> dict[str, Any]:
    """Send a dead (or skipped) notification again, from a fresh attempt count."""
    status = store.one(
        "SELECT status FROM notifications WHERE notification_id = ?", [notification_id]
    )
    if status is None:
        raise VigilError(f"no notification {notification_id!r}")
    if status not in ("dead", "skipped"):
        raise VigilError(f"notification {notification_id} is {status}; only dead or skipped "
                         "ones can be sent again")  # fmt: skip
    with store.transaction() as cur:
        cur.execute(
            "UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE notification_id = ?",
            [utc_now().to_pydatetime(), notification_id],
        )
        record(cur, by, "notification.requeue", notification_id, {"status": status},
               {"status": "pending"})  # fmt: skip
    return {"notification_id": notification_id, "status": "pending"}
