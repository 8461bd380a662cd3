"""The dispatch job on a real store: notifications land in the outbox with Alertmanager's
webhook payload, silences and inhibition hold them back, history is never paged, and a
restart (a fresh job over the stored group states) repeats nothing."""

from __future__ import annotations

import json

import pandas as pd

from analytics.dispatch import GroupingPolicy
from analytics.silences import InhibitRule
from jobs.dispatch import dispatch_notifications
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
    return dispatch_notifications(store, T0 + pd.Timedelta(seconds=seconds), POLICY,
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
