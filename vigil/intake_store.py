"""Storing received alerts as Vigil alert episodes.

An alert is known by its fingerprint: a re-send of a firing alert refreshes its open
episode, a resolve closes it, and firing after a resolve opens a new one (the lifecycle of
Vigil's own alerts), each transition recorded in ``alert_events`` with actor
``alertmanager``. A batch is planned from what is committed and written in one
transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from vigil.intake_payload import SOURCE, ReceivedAlert
from vigil.store import Store

log = logging.getLogger(__name__)
_CONFLICT_RETRIES = 3


@dataclass
class _Episode:
    alert_id: str
    fired_at: datetime
    state: str
    resolved_at: datetime | None
    by_hand: bool = False  # resolved by a person in Vigil
    new: bool = False
    last: ReceivedAlert | None = None  # the newest alert applied to it in this batch


@dataclass
class _Plan:
    """Received alerts folded, in order, over their fingerprints' current episodes.

    A fold rather than SQL: an alert's effect depends on what the alerts before it in the
    batch did to its episode. It only works out rows; they are written in bulk."""

    current: dict[str, _Episode]
    taken: set[str]
    touched: dict[str, _Episode] = field(default_factory=dict)
    events: list[tuple[str, datetime, str | None, str]] = field(default_factory=list)

    def apply(self, alert: ReceivedAlert) -> None:
        episode = self.current.get(alert.fingerprint)
        if episode is not None and episode.state == "firing":
            if alert.starts_at <= episode.fired_at:
                self._refresh(episode, alert)
                if not alert.firing:
                    self._close(episode, alert.ends_at or alert.received_at)
                return
            self._close(episode, alert.starts_at)  # its resolve never came; a new one began
        elif (episode is not None and episode.fired_at == alert.starts_at
              and (not alert.firing or episode.by_hand)):  # fmt: skip
            self._refresh(episode, alert)  # a repeated resolve, or one a person resolved
            return
        self.current[alert.fingerprint] = self._open(alert)

    def _refresh(self, episode: _Episode, alert: ReceivedAlert) -> None:
        episode.last = alert
        self.touched[episode.alert_id] = episode

    def _close(self, episode: _Episode, at: datetime) -> None:
        episode.state, episode.resolved_at = "resolved", max(at, episode.fired_at)
        self.touched[episode.alert_id] = episode
        self.events.append((episode.alert_id, episode.resolved_at, "firing", "resolved"))

    def _open(self, alert: ReceivedAlert) -> _Episode:
        base = f"am-{alert.fingerprint}-{alert.starts_at:%Y%m%dT%H%M%S}"
        alert_id, n = base, 1
        while alert_id in self.taken:
            n += 1
            alert_id = f"{base}-{n}"
        self.taken.add(alert_id)
        episode = _Episode(alert_id, alert.starts_at, "firing", None, new=True, last=alert)
        self.touched[alert_id] = episode
        self.events.append((alert_id, alert.starts_at, None, "firing"))
        if not alert.firing:
            self._close(episode, alert.ends_at or alert.received_at)
        return episode


def write_alerts(store: Store, alerts: Sequence[ReceivedAlert]) -> None:
    """Apply received alerts, in order, in one transaction (see the module docstring)."""
    if not alerts:
        return
    with store.transaction() as cur:
        plan = _load_plan(cur, {a.fingerprint for a in alerts})
        for alert in alerts:
            plan.apply(alert)
        _write_plan(cur, plan)


def _load_plan(cur: duckdb.DuckDBPyConnection, fingerprints: set[str]) -> _Plan:
    """Every stored received episode of these fingerprints; the open one (else the newest)
    is each fingerprint's current episode."""
    rows = cur.execute(
        "SELECT fingerprint, alert_id, fired_at, state, resolved_at, resolved_by IS NOT NULL, "
        "active_at, last_eval_at FROM alerts "
        "WHERE source = ? AND list_contains(?, fingerprint)",
        [SOURCE, list(fingerprints)],
    ).fetchall()
    # A handful of rows: sorted here, cheaper than asking DuckDB to
    rows.sort(key=lambda r: (r[3] == "firing", r[6], r[7], r[1]))
    current = {row[0]: _Episode(*row[1:6]) for row in rows}  # the last row per key wins
    return _Plan(current, {row[1] for row in rows})


_VARCHAR, _TIMESTAMP = "VARCHAR", "TIMESTAMP"
_NEW = (("alert_id", _VARCHAR), ("fingerprint", _VARCHAR), ("rule_id", _VARCHAR),
        ("labels", _VARCHAR), ("annotations", _VARCHAR), ("severity", _VARCHAR),
        ("service", _VARCHAR), ("state", _VARCHAR), ("fired_at", _TIMESTAMP),
        ("resolved_at", _TIMESTAMP), ("last_eval_at", _TIMESTAMP),
        ("generator_url", _VARCHAR))  # fmt: skip
_UPDATED = (("alert_id", _VARCHAR), ("state", _VARCHAR), ("resolved_at", _TIMESTAMP),
            ("labels", _VARCHAR), ("annotations", _VARCHAR), ("generator_url", _VARCHAR),
            ("last_eval_at", _TIMESTAMP))  # fmt: skip
_EVENTS = (("alert_id", _VARCHAR), ("ts", _TIMESTAMP), ("from_state", _VARCHAR),
           ("to_state", _VARCHAR))  # fmt: skip


def _rows(columns: tuple[tuple[str, str], ...]) -> str:
    """A batch as one SELECT over list parameters, a column each: one statement whatever
    its size, and cheaper for DuckDB than registering a frame per batch."""
    return "(SELECT " + ", ".join(f"unnest(?::{t}[]) AS {n}" for n, t in columns) + ")"


_NEW_SQL = f"""
    INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity,
        service, group_key, state, active_at, fired_at, resolved_at, last_eval_at, source,
        generator_url)
    SELECT alert_id, fingerprint, rule_id, labels, annotations, severity, service,
        coalesce(service, ''), state, fired_at, fired_at, resolved_at, last_eval_at,
        '{SOURCE}', generator_url FROM {_rows(_NEW)}
"""
_UPDATE_SQL = f"""
    UPDATE alerts SET state = u.state, resolved_at = u.resolved_at,
        labels = coalesce(u.labels, alerts.labels),
        annotations = coalesce(u.annotations, alerts.annotations),
        generator_url = coalesce(u.generator_url, alerts.generator_url),
        last_eval_at = coalesce(u.last_eval_at, alerts.last_eval_at)
    FROM {_rows(_UPDATED)} AS u WHERE alerts.alert_id = u.alert_id
"""
_EVENTS_SQL = f"""
    INSERT INTO alert_events (alert_id, ts, from_state, to_state, actor)
    SELECT alert_id, ts, from_state, to_state, '{SOURCE}' FROM {_rows(_EVENTS)}
"""


def _write_plan(cur: duckdb.DuckDBPyConnection, plan: _Plan) -> None:
    episodes = list(plan.touched.values())
    new = [_row(e) for e in episodes if e.new]
    updated = [_row(e) for e in episodes if not e.new]
    events = [dict(zip(("alert_id", "ts", "from_state", "to_state"), e, strict=True))
              for e in plan.events]  # fmt: skip
    for rows, sql, columns in ((new, _NEW_SQL, _NEW), (updated, _UPDATE_SQL, _UPDATED),
                               (events, _EVENTS_SQL, _EVENTS)):  # fmt: skip
        if rows:
            cur.execute(sql, [[row[name] for row in rows] for name, _ in columns])


def _row(episode: _Episode) -> dict[str, Any]:
    """An episode's columns; None leaves a stored value as it is (an episode closed
    because a newer one began got no alert of its own)."""
    row: dict[str, Any] = {"alert_id": episode.alert_id, "state": episode.state,
                           "resolved_at": episode.resolved_at,
                           "fired_at": episode.fired_at}  # fmt: skip
    alert = episode.last
    if alert is None:
        return row | dict.fromkeys(("labels", "annotations", "generator_url", "last_eval_at"))
    row |= {"labels": alert.labels, "annotations": alert.annotations,
            "generator_url": alert.generator_url, "last_eval_at": alert.received_at}  # fmt: skip
    if episode.new:
        row |= {"fingerprint": alert.fingerprint, "rule_id": alert.rule_id,
                "severity": alert.severity, "service": alert.service}  # fmt: skip
    return row


def write_retrying(store: Store, alerts: Sequence[ReceivedAlert]) -> None:
    """Write, again on a write-write conflict (a person acknowledging one of these alerts
    in the same instant): the plan is redone from what is committed then."""
    attempt = 1
    while True:
        try:
            write_alerts(store, alerts)
            return
        except duckdb.TransactionException:
            if attempt >= _CONFLICT_RETRIES:
                raise
            attempt += 1
            log.info("intake write conflicted; retrying")
            _rollback(store)


def _rollback(store: Store) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed commit already ended it
        store.cursor.execute("ROLLBACK")
