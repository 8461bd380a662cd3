"""The dispatch job on a real store: notifications land in the outbox with Alertmanager's
webhook payload, silences and inhibition hold them back, history is never paged, and a
restart (a fresh job over the stored group states) repeats nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.dispatch import GroupingPolicy
from analytics.routing import Route, build_route, defaults
from analytics.silences import InhibitRule
from analytics.time_intervals import parse_spec
from jobs.dispatch import dispatch_notifications, single_route
from vigil.clock import utc_now
from vigil.silences_store import SilenceApi
from vigil.store import Store

T0 = utc_now().floor("min")  # silences are checked against the clock
POLICY = GroupingPolicy(("service",), 30, 300, 4 * 3600)
CRITICAL_MUTES_WARNING = [InhibitRule.from_spec({
    "source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
    "equal": ["instance"]})]  # fmt: skip


def _alert(store: Store, name: str, service: str, *, severity: str = "warning",
           state: str = "firing", fired: float = 0, resolved: float | None = None,
           instance: str = "h-1") -> None:  # fmt: skip
    labels = {"alertname": name, "service": service, "severity": severity, "instance": instance}
    at = T0 + pd.Timedelta(seconds=fired)
    end = None if resolved is None else (T0 + pd.Timedelta(seconds=resolved)).to_pydatetime()
    store.execute(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "service, group_key, state, active_at, fired_at, resolved_at, last_eval_at, value) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1.0)",
        [f"{name}-{service}", f"fp-{name}-{service}", name, json.dumps(labels),
         json.dumps({"summary": f"{name} on {service}"}), severity, service, service, state,
         at.to_pydatetime(), at.to_pydatetime(), end, at.to_pydatetime()],
    )  # fmt: skip


def _run(store: Store, seconds: float) -> int:
    return dispatch_notifications(store, T0 + pd.Timedelta(seconds=seconds), single_route(POLICY),
                                  CRITICAL_MUTES_WARNING, "http://vigil.example:8501")  # fmt: skip


def _outbox(store: Store) -> list[dict]:
    rows = store.df("SELECT notification_id, payload, status FROM notifications ORDER BY ALL")
    return [{"id": r.notification_id, "outbox": r.status, **json.loads(r.payload)}
            for r in rows.itertuples(index=False)]  # fmt: skip


def test_a_group_notifies_after_group_wait_with_the_webhook_payload(store: Store) -> None:
    _alert(store, "LatencyHigh", "checkout")
    _alert(store, "ErrorsHigh", "checkout")
    assert _run(store, 0) == 0 and _run(store, 20) == 0  # group_wait
    assert _run(store, 30) == 1
    [note] = _outbox(store)
    assert (note["outbox"], note["status"], note["version"]) == ("pending", "firing", "4")
    assert note["groupLabels"] == {"service": "checkout"}
    assert note["groupKey"] == '{}:{service="checkout"}'
    assert [a["labels"]["alertname"] for a in note["alerts"]] == ["ErrorsHigh", "LatencyHigh"]
    first = note["alerts"][0]
    assert first["status"] == "firing" and first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["startsAt"] == T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["generatorURL"] == "http://vigil.example:8501/alerts?alert=ErrorsHigh-checkout"
    assert note["commonLabels"] == {"service": "checkout", "severity": "warning",
                                    "instance": "h-1"}  # fmt: skip
    assert _run(store, 40) == 0  # restart-safe: the stored state says it was sent


def test_history_is_not_paged_and_muted_alerts_wait(store: Store) -> None:
    _alert(store, "Old", "billing", state="resolved", fired=-7200, resolved=-3600)
    _alert(store, "DiskFull", "db", severity="critical")
    _alert(store, "SlowQueries", "db", instance="h-1")  # inhibited by the critical one
    SilenceApi(store).add({"matchers": ['service="search"'], "duration": "1h",
                           "created_by": "alice", "starts_at": str(T0)})  # fmt: skip
    _alert(store, "Down", "search")
    _run(store, 0)
    _run(store, 30)
    notes = _outbox(store)
    assert [n["groupLabels"] for n in notes] == [{"service": "db"}]
    assert [a["labels"]["alertname"] for a in notes[0]["alerts"]] == ["DiskFull"]


def _tree(spec: dict) -> Route:
    return build_route(spec, defaults(POLICY))


def test_routes_send_to_their_receivers_with_their_own_grouping(store: Store) -> None:
    tree = _tree({"receiver": "ops", "routes": [
        {"receiver": "dba", "matchers": ['service="db"'], "continue_": True,
         "group_by": ["instance"], "group_wait_seconds": 0},
        {"receiver": "pager", "matchers": ['severity="critical"']}]})  # fmt: skip
    _alert(store, "DiskFull", "db", severity="critical")
    _alert(store, "Latency", "web")
    assert dispatch_notifications(store, T0, tree, (), "http://v") == 1  # dba waits 0 s
    now = T0 + pd.Timedelta(seconds=30)
    assert dispatch_notifications(store, now, tree, (), "http://v") == 2
    rows = store.df("SELECT channel, payload FROM notifications ORDER BY channel")
    sent = {r.channel: json.loads(r.payload) for r in rows.itertuples(index=False)}
    assert sorted(sent) == ["dba", "ops", "pager"]
    assert sent["dba"]["groupLabels"] == {"instance": "h-1"}
    assert sent["dba"]["groupKey"] == '{}/{service="db"}:{instance="h-1"}'
    assert sent["pager"]["receiver"] == "pager"
    assert [a["labels"]["alertname"] for a in sent["ops"]["alerts"]] == ["Latency"]
    ids = json.loads(store.one("SELECT alert_ids FROM notifications WHERE channel = 'pager'"))
    assert ids == ["DiskFull-db"]


def test_a_muted_route_holds_its_notification_until_the_interval_ends(store: Store) -> None:
    tree = _tree({"receiver": "ops", "mute_time_intervals": ["lunch"]})
    start, end = T0.strftime("%H:%M"), (T0 + pd.Timedelta(minutes=2)).strftime("%H:%M")
    if end <= start:
        pytest.skip("the test's two minutes straddle midnight")
    lunch = {"lunch": [parse_spec({"times": [{"start_time": start, "end_time": end}]})]}
    _alert(store, "Latency", "web")

    def run(seconds: float) -> int:
        return dispatch_notifications(store, T0 + pd.Timedelta(seconds=seconds), tree, (),
                                      "", lunch)  # fmt: skip

    assert run(0) == 0 and run(30) == 0  # group_wait over, but muted: nothing remembered
    assert run(120) == 0  # next check is group_interval after the muted one
    assert run(330) == 1


def test_a_received_alert_keeps_its_own_generator_url(store: Store) -> None:
    _alert(store, "DiskFull", "db")
    store.execute("UPDATE alerts SET source = 'alertmanager', generator_url = ?",
                  ["http://prometheus.example:9090/graph?g0.expr=disk"])  # fmt: skip
    _run(store, 0)
    _run(store, 30)
    [note] = _outbox(store)
    assert note["alerts"][0]["generatorURL"] == "http://prometheus.example:9090/graph?g0.expr=disk"
