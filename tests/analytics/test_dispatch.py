"""Alert groups as Alertmanager's dispatcher runs them, tick by tick: group_wait before
the first notification, group_interval between checks, repeat_interval for unchanged
groups, resolved alerts, muted alerts, and groups that empty and come back."""

from __future__ import annotations

import pandas as pd

from analytics.dispatch import (
    DispatchAlert,
    GroupingPolicy,
    GroupState,
    Notification,
    dispatch,
    group_key,
)

T0 = pd.Timestamp("2026-12-01 00:00")
POLICY = GroupingPolicy(("service",), group_wait_seconds=30, group_interval_seconds=300,
                        repeat_interval_seconds=3600)  # fmt: skip
TICK = pd.Timedelta(seconds=10)


def alert(name: str, service: str = "api", *, firing: bool = True, resolved: float | None = None,
          muted: bool = False) -> DispatchAlert:  # fmt: skip
    """An alert whose episode is ``name`` and identity ``fp-name``."""
    at = None if resolved is None else T0 + pd.Timedelta(seconds=resolved)
    return DispatchAlert(name, f"fp-{name}", {"service": service, "alertname": name},
                         firing, at, muted)  # fmt: skip


class Timeline:
    """Runs the dispatcher every 10 s; ``alerts_at(seconds)`` says what exists then."""

    def __init__(self, policy: GroupingPolicy = POLICY) -> None:
        self.policy = policy
        self.states: dict[str, GroupState] = {}
        self.sent: list[tuple[float, Notification]] = []

    def run(self, alerts_at, until: float) -> list[tuple[float, Notification]]:
        now = T0
        while now <= T0 + pd.Timedelta(seconds=until):
            done = dispatch(self.states, alerts_at((now - T0).total_seconds()), now, self.policy)
            self.states = done.states
            self.sent += [((now - T0).total_seconds(), n) for n in done.notifications]
            now += TICK
        return self.sent


def test_a_new_group_waits_group_wait_then_checks_every_group_interval() -> None:
    def alerts_at(t: float) -> list[DispatchAlert]:
        return [alert("A")] + ([alert("B")] if t >= 60 else [])

    sent = Timeline().run(alerts_at, until=1000)
    assert [(t, n.firing) for t, n in sent] == [(30, ("A",)), (330, ("A", "B"))]
    assert [n.key for _, n in sent] == [f"{group_key({'service': 'api'})}-{i}" for i in (1, 2)]


def test_an_unchanged_group_repeats_after_repeat_interval_only() -> None:
    sent = Timeline().run(lambda t: [alert("A")], until=2 * 3600)
    # checks at 30, 330, ...; the first one more than an hour after 30 is 3930
    assert [t for t, _ in sent] == [30, 3930]


def test_resolved_alerts_are_notified_at_the_next_check_and_then_leave() -> None:
    def alerts_at(t: float) -> list[DispatchAlert]:
        if t < 100:
            return [alert("A"), alert("B")]
        return [alert("A"), alert("B", firing=False, resolved=100)]

    sent = Timeline().run(alerts_at, until=1000)
    assert [(t, n.firing, n.resolved) for t, n in sent] == [
        (30, ("A", "B"), ()), (330, ("A",), ("B",))]  # fmt: skip


def test_without_send_resolved_a_resolved_alert_alone_does_not_notify() -> None:
    policy = GroupingPolicy(("service",), 30, 300, 3600, send_resolved=False)

    def alerts_at(t: float) -> list[DispatchAlert]:
        return [alert("A")] + ([alert("B")] if t < 100 else [])

    sent = Timeline(policy).run(alerts_at, until=1000)
    assert [t for t, _ in sent] == [30]


def test_all_resolved_notifies_once_and_the_group_waits_again_next_time() -> None:
    def alerts_at(t: float) -> list[DispatchAlert]:
        if t < 100:
            return [alert("A")]
        if t < 2000:
            return [alert("A", firing=False, resolved=100)]
        return [alert("A2")]

    sent = Timeline().run(alerts_at, until=2500)
    assert [(t, n.firing, n.resolved) for t, n in sent] == [
        (30, ("A",), ()), (330, (), ("A",)), (2030, ("A2",), ())]  # fmt: skip
    assert sent[-1][1].sequence == 3  # the same group, its third notification


def test_groups_are_kept_apart_by_their_labels() -> None:
    sent = Timeline().run(lambda t: [alert("A", "api"), alert("B", "db")], until=100)
    assert sorted((n.group_labels["service"], n.firing) for _, n in sent) == [
        ("api", ("A",)), ("db", ("B",))]  # fmt: skip


def test_muted_alerts_do_not_notify_until_the_silence_ends() -> None:
    def alerts_at(t: float) -> list[DispatchAlert]:
        return [alert("A", muted=t < 600)]

    sent = Timeline().run(alerts_at, until=1000)
    assert [(t, n.firing) for t, n in sent] == [(630, ("A",))]


def test_an_alert_muted_after_it_notified_is_not_reported_resolved() -> None:
    def alerts_at(t: float) -> list[DispatchAlert]:
        return [alert("A", muted=t >= 100), alert("B", "db")]

    sent = Timeline().run(alerts_at, until=2000)
    api = [t for t, n in sent if n.group_labels["service"] == "api"]
    assert api == [30]  # silenced, never "resolved"


def test_dispatching_twice_at_the_same_time_sends_nothing_new() -> None:
    first = dispatch({}, [alert("A")], T0, POLICY)
    later = T0 + pd.Timedelta(seconds=40)
    second = dispatch(first.states, [alert("A")], later, POLICY)
    again = dispatch(second.states, [alert("A")], later, POLICY)
    assert len(second.notifications) == 1 and again.notifications == []
    assert again.states == second.states
