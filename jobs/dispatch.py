"""The dispatch job: group alerts as Alertmanager does and write the notifications that
are due into the outbox (``notifications``), where the notify job picks them up.

Every alert goes down the routing tree (:mod:`analytics.routing`); each route it takes
groups it with that route's settings, for that route's receiver. Group states (timers and
what each group last notified) live in ``notification_groups`` and change in the same
transaction as the notifications they cause, so a restart neither repeats nor forgets
one. Each notification's payload is Alertmanager's webhook JSON (version 4), which every
channel renders from; its id (the group's key and the check's sequence number) is the
key a receiver deduplicates on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analytics.dispatch import DispatchAlert, GroupingPolicy, GroupState, Notification, dispatch
from analytics.routing import Route, build_route, defaults, match, walk
from analytics.silences import InhibitRule, inhibited_by, silenced_by
from analytics.time_intervals import IntervalSpec
from vigil.silences_store import load_silences
from vigil.store import Store

RECEIVER = "default"  # the receiver of a tree that names none
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing


def _time(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime(
        "%Y-%m-%dT%H:%M:%SZ")  # fmt: skip


def single_route(policy: GroupingPolicy, receiver: str = RECEIVER) -> Route:
    """A tree of one route: every alert grouped by ``policy`` for ``receiver``."""
    return build_route({}, defaults(policy, receiver))


def _route_key(route: Route) -> str:
    """The key a route's groups are hashed with; the root's is empty, so groups stored
    before routing existed keep their keys."""
    return "" if route.key == "{}" else route.key


def load_states(store: Store) -> dict[str, dict[str, GroupState]]:
    """Every stored group state, by route key and group key."""
    rows = store.df("SELECT * FROM notification_groups")

    def stamp(value: Any) -> pd.Timestamp | None:
        return None if pd.isna(value) else pd.Timestamp(value)

    out: dict[str, dict[str, GroupState]] = {}
    for row in rows.itertuples(index=False):
        route = row.route_key if isinstance(row.route_key, str) else "{}"
        out.setdefault(route, {})[row.group_key] = GroupState(
            key=row.group_key,
            labels=json.loads(row.group_labels),
            created_at=pd.Timestamp(row.created_at),
            next_check_at=pd.Timestamp(row.next_check_at),
            last_check_at=stamp(row.last_check_at),
            last_notified_at=stamp(row.last_notified_at),
            notified_firing=frozenset(json.loads(row.notified_firing)),
            notified_resolved=frozenset(json.loads(row.notified_resolved)),
            sequence=int(row.sequence),
            active=bool(row.active),
        )
    return out


def _candidates(store: Store, states: list[GroupState], now: pd.Timestamp) -> pd.DataFrame:
    """Alerts firing now, and alerts resolved since the earliest check a group still owes
    them (since the last run on the first check of a group; never older history)."""
    last_run = store.one("SELECT ts FROM watermarks WHERE source = 'dispatcher' AND key = 'run'")
    owed = [s.last_check_at or s.created_at for s in states if s.active]
    since = min([pd.Timestamp(last_run) if last_run is not None else now, *owed])
    frame = store.df(
        "SELECT alert_id, fingerprint, labels, annotations, state, fired_at, resolved_at, "
        "generator_url "
        "FROM alerts WHERE state = 'firing' "
        "OR (state = 'resolved' AND fired_at IS NOT NULL AND resolved_at > ?) "
        "ORDER BY alert_id",
        [since.to_pydatetime()],
    )
    frame["labels"] = [json.loads(text) for text in frame["labels"]]
    frame["annotations"] = [json.loads(text) for text in frame["annotations"]]
    return frame


def _muted(store: Store, alerts: pd.DataFrame, now: pd.Timestamp,
           inhibit_rules: Sequence[InhibitRule]) -> list[bool]:  # fmt: skip
    silences = load_silences(store)
    firing = (alerts["state"] == "firing").tolist()
    inhibitors = inhibited_by(alerts["labels"].tolist(), firing, inhibit_rules)
    return [bool(silenced_by(labels, silences, now)) or bool(sources)
            for labels, sources in zip(alerts["labels"], inhibitors, strict=True)]  # fmt: skip


def dispatch_notifications(
    store: Store, now: pd.Timestamp, root: Route,
    inhibit_rules: Sequence[InhibitRule] = (), external_url: str = "",
    intervals: Mapping[str, Sequence[IntervalSpec]] | None = None,
) -> int:  # fmt: skip
    """Check every alert group due by ``now`` on every route of the tree at ``root``;
    returns the notifications written."""
    stored = load_states(store)
    alerts = _candidates(store, [s for g in stored.values() for s in g.values()], now)
    muted = _muted(store, alerts, now, inhibit_rules) if len(alerts) else []
    seen = [
        DispatchAlert(row.alert_id, row.fingerprint, row.labels, row.state == "firing",
                      None if pd.isna(row.resolved_at) else pd.Timestamp(row.resolved_at), m)
        for row, m in zip(alerts.itertuples(index=False), muted, strict=True)
    ]  # fmt: skip
    taken: dict[str, list[DispatchAlert]] = {}
    for alert in seen:
        for route in match(root, alert.labels):
            taken.setdefault(route.key, []).append(alert)
    by_id = {row.alert_id: row for row in alerts.itertuples(index=False)}
    written = 0
    with store.transaction() as cur:
        for route in walk(root):
            states = stored.get(route.key, {})
            if not states and route.key not in taken:
                continue
            held = route.muted_at(now, intervals or {})
            result = dispatch(states, taken.get(route.key, []), now, route.policy,
                              _route_key(route), held)  # fmt: skip
            for state in (s for k, s in result.states.items() if states.get(k) != s):
                cur.execute(
                    "INSERT OR REPLACE INTO notification_groups (receiver, group_key, "
                    "group_labels, created_at, next_check_at, last_check_at, last_notified_at, "
                    "notified_firing, notified_resolved, sequence, active, route_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _state_row(route, state),
                )  # fmt: skip
            for note in result.notifications:
                _write_notification(cur, route, note, by_id, external_url, now)
            written += len(result.notifications)
        cur.execute("INSERT OR REPLACE INTO watermarks VALUES ('dispatcher', 'run', ?)",
                    [now.to_pydatetime()])  # fmt: skip
    return written


def _write_notification(cur: Any, route: Route, note: Notification, alerts: dict[str, Any],
                        external_url: str, now: pd.Timestamp) -> None:  # fmt: skip
    payload = webhook_payload(note, alerts, external_url, route)
    cur.execute(
        "INSERT INTO notifications (notification_id, alert_id, channel, payload, status, "
        "attempts, next_attempt_at, created_at, group_key, alert_ids) "
        "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [note.key, (note.firing or note.resolved)[0], route.receiver,
         json.dumps(payload, ensure_ascii=False), now.to_pydatetime(), now.to_pydatetime(),
         note.group_key, json.dumps([*note.firing, *note.resolved])],
    )  # fmt: skip


def _state_row(route: Route, state: GroupState) -> list[Any]:
    def dt(value: pd.Timestamp | None) -> Any:
        return None if value is None else value.to_pydatetime()

    return [route.receiver, state.key, json.dumps(dict(state.labels), ensure_ascii=False),
            dt(state.created_at), dt(state.next_check_at), dt(state.last_check_at),
            dt(state.last_notified_at), json.dumps(sorted(state.notified_firing)),
            json.dumps(sorted(state.notified_resolved)), state.sequence, state.active,
            route.key]  # fmt: skip


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _generator_url(row: Any, base: str) -> str:
    """Where an alert comes from: a received alert's own (its Prometheus), else Vigil."""
    if isinstance(row.generator_url, str) and row.generator_url:
        return row.generator_url
    return f"{base}/alerts?alert={row.alert_id}" if base else ""


def webhook_payload(note: Notification, alerts: dict[str, Any], external_url: str,
                    route: Route) -> dict:  # fmt: skip
    """Alertmanager's webhook payload (version 4) for a notification."""
    listed = [(alerts[i], "firing") for i in note.firing]
    listed += [(alerts[i], "resolved") for i in note.resolved]
    base = external_url.rstrip("/")
    items = [
        {"status": status, "labels": row.labels, "annotations": row.annotations,
         "startsAt": _time(row.fired_at), "endsAt": _time(row.resolved_at) or ZERO_TIME,
         "generatorURL": _generator_url(row, base),
         "fingerprint": row.fingerprint}
        for row, status in listed
    ]  # fmt: skip
    inside = ",".join(f'{k}="{v}"' for k, v in sorted(note.group_labels.items()))
    return {
        "version": "4", "groupKey": f"{route.key}:{{{inside}}}", "truncatedAlerts": 0,
        "status": "firing" if note.firing else "resolved", "receiver": route.receiver,
        "groupLabels": dict(note.group_labels),
        "commonLabels": _common([i["labels"] for i in items]),
        "commonAnnotations": _common([i["annotations"] for i in items]),
        "externalURL": base, "alerts": items,
    }  # fmt: skip
