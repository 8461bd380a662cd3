"""Alertmanager's dispatcher: alerts into aggregation groups, and when a group notifies.

Alerts whose ``group_by`` label values are equal form one group. A new group waits
``group_wait`` (to collect the alerts one incident raises together), then is checked every
``group_interval``. At each check it notifies when Alertmanager's notification log would
(``notify.DedupStage.needsUpdate``):

- never notified: when something fires;
- a firing alert the last notification did not list;
- nothing fires any more but the last notification listed firing alerts (all resolved);
- with ``send_resolved``, a resolved alert the last notification did not list;
- otherwise, when ``repeat_interval`` has passed since the last notification.

Silenced and inhibited alerts are left out before that decision, as Alertmanager's
pipeline drops them before its dedup stage (a group whose alerts are all muted sends
nothing and remembers nothing). A group's resolved alerts are the ones
resolved since its previous check; they leave the group once checked. Everything here is
a function of the group states and the alerts: the caller stores the states.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd


@dataclass(frozen=True)
class GroupingPolicy:
    group_by: tuple[str, ...] = ("service",)
    group_wait_seconds: int = 30
    group_interval_seconds: int = 300
    repeat_interval_seconds: int = 4 * 3600
    send_resolved: bool = True


@dataclass(frozen=True)
class GroupState:
    """What Alertmanager's aggregation group and notification log remember of a group."""

    key: str
    labels: Mapping[str, str]
    created_at: pd.Timestamp
    next_check_at: pd.Timestamp
    last_check_at: pd.Timestamp | None = None
    last_notified_at: pd.Timestamp | None = None
    notified_firing: frozenset[str] = frozenset()
    notified_resolved: frozenset[str] = frozenset()
    sequence: int = 0  # notifications sent so far
    active: bool = True  # holds alerts now (an empty group waits anew when one comes)


@dataclass(frozen=True)
class DispatchAlert:
    """An alert as the dispatcher sees it: ``fingerprint`` is its identity across
    episodes, ``alert_id`` the episode."""

    alert_id: str
    fingerprint: str
    labels: Mapping[str, str]
    firing: bool
    resolved_at: pd.Timestamp | None = None
    muted: bool = False


@dataclass(frozen=True)
class Notification:
    """One group's notification: the alerts it lists, and its stable key (the group and
    its sequence number), which a receiver can deduplicate on."""

    key: str
    group_key: str
    group_labels: Mapping[str, str]
    firing: tuple[str, ...]  # alert ids
    resolved: tuple[str, ...]
    sequence: int


@dataclass(frozen=True)
class Dispatched:
    states: dict[str, GroupState]
    notifications: list[Notification] = field(default_factory=list)


def group_labels(labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """The labels a group is known by (a missing label is left out, as in Alertmanager;
    ``...`` groups by every label)."""
    names = sorted(labels) if "..." in group_by else group_by
    return {name: str(labels[name]) for name in names if labels.get(name, "") != ""}


def group_key(labels: Mapping[str, str], route_key: str = "") -> str:
    """A stable key of a group: its route's key and its labels."""
    text = json.dumps(dict(sorted(labels.items())), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(f"{route_key}{text}".encode()).hexdigest()[:16]


def _needs_update(state: GroupState, firing: set[str], resolved: set[str], now: pd.Timestamp,
                  policy: GroupingPolicy) -> bool:  # fmt: skip
    if state.last_notified_at is None:
        return bool(firing)
    if not firing <= state.notified_firing:
        return True
    if not firing:
        return bool(state.notified_firing)
    if policy.send_resolved and not resolved <= state.notified_resolved:
        return True
    return state.last_notified_at < now - pd.Timedelta(seconds=policy.repeat_interval_seconds)


def dispatch(
    states: Mapping[str, GroupState],
    alerts: Iterable[DispatchAlert],
    now: pd.Timestamp,
    policy: GroupingPolicy,
    route_key: str = "",
    held: bool = False,
) -> Dispatched:
    """Advance every group of one route to ``now``: which notifications are due, and the
    new states.

    ``alerts`` are the ones firing now and the ones resolved recently (resolved alerts
    older than a group's last check are ignored for it). ``held``: the route is in a mute
    time interval; its groups are checked but notify nothing and remember nothing, as
    Alertmanager's time-mute stage stops the pipeline before the notification log.
    """
    members: dict[str, list[DispatchAlert]] = {}
    labels_of: dict[str, dict[str, str]] = {}
    for alert in alerts:
        labels = group_labels(alert.labels, policy.group_by)
        key = group_key(labels, route_key)
        members.setdefault(key, []).append(alert)
        labels_of[key] = labels
    out = dict(states)
    notifications = []
    for key in sorted(set(states) | set(members)):
        state = _arrive(states.get(key), key, labels_of.get(key, {}), members.get(key, []),
                        now, policy)  # fmt: skip
        if state is None:
            continue
        if state.active and now >= state.next_check_at:
            state, sent = _check(state, members.get(key, []), now, policy, held)
            notifications += sent
        out[key] = state
    return Dispatched(out, notifications)


def _arrive(
    state: GroupState | None, key: str, labels: dict[str, str], members: list[DispatchAlert],
    now: pd.Timestamp, policy: GroupingPolicy,
) -> GroupState | None:  # fmt: skip
    """The group's state once its current alerts have arrived: a new (or emptied) group
    that gets a firing alert starts waiting ``group_wait``."""
    firing_now = any(a.firing and not a.muted for a in members)
    if state is not None and (state.active or not firing_now):
        return state
    if not firing_now:
        return None  # resolved or muted alerts alone do not open a group
    wait = pd.Timedelta(seconds=policy.group_wait_seconds)
    if state is None:
        return GroupState(key, labels, now, now + wait)
    return replace(state, active=True, created_at=now, next_check_at=now + wait)


def _check(
    state: GroupState, members: list[DispatchAlert], now: pd.Timestamp,
    policy: GroupingPolicy, held: bool = False,
) -> tuple[GroupState, list[Notification]]:  # fmt: skip
    since = state.last_check_at if state.last_check_at is not None else state.created_at
    unmuted = [] if held else [a for a in members if not a.muted]
    firing = sorted((a for a in unmuted if a.firing), key=lambda a: a.alert_id)
    resolved = sorted((a for a in unmuted if not a.firing and a.resolved_at is not None
                       and a.resolved_at > since), key=lambda a: a.alert_id)  # fmt: skip
    firing_fp = {a.fingerprint for a in firing}
    resolved_fp = {a.fingerprint for a in resolved} - firing_fp
    sent: list[Notification] = []
    interval = pd.Timedelta(seconds=policy.group_interval_seconds)
    state = replace(state, last_check_at=now, next_check_at=now + interval)
    # All muted: Alertmanager's pipeline stops before it reaches the notification log.
    if (firing or resolved) and _needs_update(state, firing_fp, resolved_fp, now, policy):
        listed_resolved = resolved if policy.send_resolved or not firing else []
        sequence = state.sequence + 1
        sent.append(Notification(f"{state.key}-{sequence}", state.key, dict(state.labels),
                                 tuple(a.alert_id for a in firing),
                                 tuple(a.alert_id for a in listed_resolved), sequence))  # fmt: skip
        state = replace(state, last_notified_at=now, notified_firing=frozenset(firing_fp),
                        notified_resolved=frozenset(resolved_fp), sequence=sequence)  # fmt: skip
    if not any(a.firing for a in members):  # emptied: waits group_wait again on the next
        state = replace(state, active=False)
    return state, sent
