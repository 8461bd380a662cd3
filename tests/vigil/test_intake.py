"""Alertmanager's webhook into Vigil, over a real engine HTTP port and a real Alertmanager."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from tests.alertmanager import BINARY, AlertmanagerServer, webhook_config
from tests.conftest import engine_auth, need_binary
from tests.sources.promserver import free_port
from vigil.alert_actions import resolve_alert
from vigil.alert_list import list_alerts
from vigil.clock import utc_now
from vigil.engine import Engine
from vigil.http import start_http_server
from vigil.ingest import ingest
from vigil.intake import Intake, alertmanager_fingerprint
from vigil.settings import load_settings
from vigil.sources.base import PullResult

TOKEN = "s3cret-token"
EXTERNAL = "http://vigil.example:8501"
T0 = pd.Timestamp("2026-11-20 00:00")
ZERO = "0001-01-01T00:00:00Z"


def _engine(data_dir: Path, **overrides: Any) -> Engine:
    settings = load_settings(
        data_dir=data_dir, demo_enabled=False, host_enabled=False, scheduler_enabled=False,
        http_port=free_port(), http_host="127.0.0.1", intake_token=TOKEN,
        external_url=EXTERNAL, **overrides,
    )  # fmt: skip
    return Engine(settings)


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    started = _engine(data_dir)
    yield started
    started.stop()


def _at(minutes: float) -> str:
    return (T0 + pd.Timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def am_alert(name: str = "DiskFull", status: str = "firing", starts: float = 0,
             ends: float | None = None, **labels: str) -> dict[str, Any]:  # fmt: skip
    """One alert as Alertmanager's webhook lists it."""
    labels = {"alertname": name, "instance": "db-1:9100", "service": "billing",
              "severity": "critical", **labels}  # fmt: skip
    return {
        "status": status, "labels": labels,
        "annotations": {"summary": f"{name} on {labels['instance']}"},
        "startsAt": _at(starts), "endsAt": ZERO if ends is None else _at(ends),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk",
        "fingerprint": alertmanager_fingerprint(labels),
    }  # fmt: skip


def webhook(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "receiver": "vigil",
            "status": "firing" if firing else "resolved", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093", "alerts": list(alerts)}  # fmt: skip


def post(engine: Engine, payload: Any, token: str | None = TOKEN,
         **headers: str) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Status and JSON answer of one webhook POST (bytes are sent as they are)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    assert engine.http is not None
    response = requests.post(f"{engine.http.url}/api/v1/alerts/webhook", data=body,
                             headers=headers, timeout=10)  # fmt: skip
    return response.status_code, response.json()


def received(engine: Engine) -> pd.DataFrame:
    return engine.store.df(
        "SELECT * FROM alerts WHERE source = 'alertmanager' ORDER BY active_at, alert_id"
    )


def events(engine: Engine) -> list[tuple[str, str | None, str, str]]:
    rows = engine.store.df("SELECT alert_id, from_state, to_state, actor FROM alert_events "
                           "ORDER BY event_id")  # fmt: skip
    return [(r.alert_id, None if pd.isna(r.from_state) else r.from_state, r.to_state, r.actor)
            for r in rows.itertuples(index=False)]  # fmt: skip


def test_a_webhook_alert_is_stored_with_its_labels_annotations_and_link(engine: Engine) -> None:
    sent = am_alert()
    assert post(engine, webhook(sent)) == (200, {"received": 1, "stored": 1, "skipped": 0})
    [row] = received(engine).itertuples(index=False)
    assert json.loads(row.labels) == sent["labels"]
    assert json.loads(row.annotations) == {"summary": "DiskFull on db-1:9100"}
    assert (row.generator_url, row.fingerprint) == (sent["generatorURL"], sent["fingerprint"])
    assert (row.rule_id, row.severity, row.service, row.group_key, row.state) == (
        "alertmanager:DiskFull", "critical", "billing", "billing", "firing")  # fmt: skip
    assert row.fired_at == row.active_at == T0 and pd.isna(row.resolved_at)
    assert abs(pd.Timestamp(row.last_eval_at) - utc_now()) < pd.Timedelta(seconds=30)
    assert events(engine) == [(row.alert_id, None, "firing", "alertmanager")]


def test_a_resent_firing_alert_refreshes_its_episode(engine: Engine) -> None:
    post(engine, webhook(am_alert()))
    first = received(engine).iloc[0]
    again = am_alert()
    again["annotations"] = {"summary": "DiskFull on db-1:9100, 98% used"}
    post(engine, webhook(again))
    [row] = received(engine).itertuples(index=False)
    assert row.alert_id == first["alert_id"]
    assert json.loads(row.annotations)["summary"].endswith("98% used")
    assert row.last_eval_at > first["last_eval_at"]
    assert len(events(engine)) == 1


def test_a_resolve_closes_the_episode_and_firing_again_opens_a_new_one(engine: Engine) -> None:
    post(engine, webhook(am_alert()))
    post(engine, webhook(am_alert(status="resolved", ends=10)))
    [closed] = received(engine).itertuples(index=False)
    assert (closed.state, closed.resolved_at) == ("resolved", T0 + pd.Timedelta(minutes=10))
    post(engine, webhook(am_alert(status="resolved", ends=10)))  # repeated: nothing new
    assert len(received(engine)) == 1 and len(events(engine)) == 2
    post(engine, webhook(am_alert(starts=30)))
    rows = received(engine)
    assert rows["state"].tolist() == ["resolved", "firing"]
    assert rows["fired_at"].iloc[1] == T0 + pd.Timedelta(minutes=30)
    first, second = rows["alert_id"]
    assert events(engine) == [(first, None, "firing", "alertmanager"),
                              (first, "firing", "resolved", "alertmanager"),
                              (second, None, "firing", "alertmanager")]  # fmt: skip


def test_firing_again_with_the_same_start_still_opens_a_new_episode(engine: Engine) -> None:
    """Alertmanager resolves an alert whose endsAt passed; if Prometheus then sends it again
    with its old activeAt, that is a new alert there, and a new episode here."""
    post(engine, webhook(am_alert()))
    post(engine, webhook(am_alert(status="resolved", ends=5)))
    post(engine, webhook(am_alert()))
    rows = received(engine)
    assert rows["state"].tolist() == ["resolved", "firing"]
    assert rows["alert_id"].is_unique


def test_a_later_start_while_open_closes_the_old_episode(engine: Engine) -> None:
    """The resolve in between never arrived (send_resolved off, a lost request)."""
    post(engine, webhook(am_alert()))
    post(engine, webhook(am_alert(starts=60)))
    rows = received(engine)
    assert rows["state"].tolist() == ["resolved", "firing"]
    assert rows["resolved_at"].iloc[0] == T0 + pd.Timedelta(minutes=60)


def test_one_payload_can_fire_resolve_and_fire_again(engine: Engine) -> None:
    payload = webhook(am_alert(), am_alert(status="resolved", ends=5), am_alert(starts=9))
    assert post(engine, payload)[1]["stored"] == 3
    assert received(engine)["state"].tolist() == ["resolved", "firing"]


def test_a_resolve_without_its_firing_is_kept_as_a_closed_episode(engine: Engine) -> None:
    post(engine, webhook(am_alert(status="resolved", ends=7)))
    [row] = received(engine).itertuples(index=False)
    assert (row.state, row.fired_at, row.resolved_at) == (
        "resolved", T0, T0 + pd.Timedelta(minutes=7))  # fmt: skip
    assert [e[2] for e in events(engine)] == ["firing", "resolved"]


def test_an_alert_resolved_by_hand_stays_resolved_while_alertmanager_sends_it(
    engine: Engine,
) -> None:
    post(engine, webhook(am_alert()))
    alert_id = received(engine)["alert_id"].iloc[0]
    resolve_alert(engine.store, alert_id, "alice", "known, fixing")
    post(engine, webhook(am_alert()))
    [row] = received(engine).itertuples(index=False)
    assert (row.alert_id, row.state, row.resolved_by) == (alert_id, "resolved", "alice")
    post(engine, webhook(am_alert(starts=60)))  # a new episode there is one here too
    assert received(engine)["state"].tolist() == ["resolved", "firing"]


def test_alerts_without_fingerprint_or_severity_get_defaults(engine: Engine) -> None:
    bare = {"status": "firing", "labels": {"alertname": "X", "a": "b"}, "startsAt": _at(0)}
    assert post(engine, {"alerts": [bare]})[0] == 200
    [row] = received(engine).itertuples(index=False)
    assert row.fingerprint == "c4fa8262820e0e19"  # what Alertmanager 0.25 computes
    assert (row.severity, row.service, row.group_key) == ("warning", None, "")
    assert json.loads(row.annotations) == {} and row.generator_url is None


def test_times_with_offsets_are_stored_in_utc(engine: Engine) -> None:
    alert = am_alert()
    alert["startsAt"] = "2026-11-20T08:00:00.123456789+08:00"
    post(engine, webhook(alert))
    assert received(engine)["fired_at"].iloc[0] == T0 + pd.Timedelta(microseconds=123456)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}",
                                           f"Bearer {TOKEN}x", "Bearer"])  # fmt: skip
def test_a_missing_or_wrong_token_is_401_and_stores_nothing(
    engine: Engine, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, answer = post(engine, webhook(am_alert()), token=None, **headers)
    assert status == 401 and "bearer token" in answer["error"]
    assert received(engine).empty


def test_the_token_scheme_is_case_insensitive(engine: Engine) -> None:
    status, _ = post(engine, webhook(am_alert()), token=None, Authorization=f"bearer {TOKEN}")
    assert status == 200 and len(received(engine)) == 1


def test_without_a_configured_token_none_is_asked(engine: Engine) -> None:
    intake = Intake(engine.store, None, EXTERNAL)
    server = start_http_server("127.0.0.1", 0, metrics=lambda _: (b"", "text/plain"),
                               health=engine.status, intake=intake)  # fmt: skip
    try:
        response = requests.post(f"{server.url}/api/v1/alerts/webhook",
                                 json=webhook(am_alert()), timeout=10)  # fmt: skip
    finally:
        server.stop()
    assert response.status_code == 200 and len(received(engine)) == 1


def test_a_closed_intake_refuses_and_stores_nothing(engine: Engine) -> None:
    intake = Intake(engine.store, None, EXTERNAL)
    assert intake.receive(json.dumps(webhook(am_alert())).encode())["stored"] == 1
    intake.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        intake.receive(json.dumps(webhook(am_alert(instance="db-2:9100"))).encode())
    assert len(received(engine)) == 1


def _good_then(bad: Any) -> dict[str, Any]:
    """A payload whose first alert is fine: a bad second one must keep both out."""
    return {"version": "4", "alerts": [am_alert(), bad]}


def _bad(**changes: Any) -> dict[str, Any]:
    alert = am_alert(instance="db-2:9100")
    for key, value in changes.items():
        alert[key] = value
    return _good_then(alert)


def _without(key: str) -> dict[str, Any]:
    alert = am_alert(instance="db-2:9100")
    del alert[key]
    return _good_then(alert)


MALFORMED = {
    "not JSON": (b"{this is not json", "not JSON"),
    "not UTF-8": (b'{"alerts": ["\xff\xfe"]}', "not UTF-8"),
    "an array": (b"[]", "must be a JSON object"),
    "no alerts": ({"version": "4", "status": "firing"}, "no alerts list"),
    "alerts not a list": ({"alerts": {"a": 1}}, "no alerts list"),
    "another version": ({"version": "3", "alerts": []}, "version '3' is not supported"),
    "an alert not an object": (_good_then("DiskFull"), "alerts[1] must be an object"),
    "no labels": (_without("labels"), "alerts[1].labels is missing"),
    "labels not an object": (_bad(labels=["alertname"]), "labels must be an object"),
    "no alertname": (_bad(labels={"instance": "x"}), "alerts[1].labels has no alertname"),
    "a number as label value": (_bad(labels={"alertname": "X", "code": 500}),
                                "alerts[1].labels.code must be a string, not int"),
    "null label value": (_bad(labels={"alertname": "X", "a": None}), "not NoneType"),
    "empty label name": (_bad(labels={"alertname": "X", "": "v"}), "empty name"),
    "a number as annotation": (_bad(annotations={"value": 1.5}),
                               "alerts[1].annotations.value must be a string"),
    "unknown status": (_bad(status="pending"), "status must be firing or resolved"),
    "no startsAt": (_without("startsAt"), "alerts[1].startsAt is missing"),
    "startsAt in words": (_bad(startsAt="yesterday"), "not an RFC 3339 time"),
    "startsAt without zone": (_bad(startsAt="2026-11-20T00:00:00"), "not an RFC 3339 time"),
    "startsAt as a number": (_bad(startsAt=1763596800), "not an RFC 3339 time"),
    "impossible date": (_bad(startsAt="2026-02-30T00:00:00Z"), "not a valid time"),
    "year out of range": (_bad(startsAt="2400-01-01T00:00:00Z"), "out of range"),
    "endsAt before startsAt": (_bad(status="resolved", endsAt="2026-11-19T00:00:00Z"),
                               "endsAt is before its startsAt"),
    "fingerprint not a string": (_bad(fingerprint=12), "fingerprint must be a string"),
    "generatorURL not a string": (_bad(generatorURL=["x"]), "generatorURL must be a string"),
    "NaN": (json.dumps(_bad(labels={"alertname": "X", "v": float("nan")})).encode(), "NaN"),
    "Infinity": (json.dumps({**_good_then(am_alert()), "truncatedAlerts": float("inf")})
                 .encode(), "Infinity"),
    "empty body": (b"", "not JSON"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_payload_is_400_and_stores_nothing(engine: Engine, kind: str) -> None:
    payload, message = MALFORMED[kind]
    status, answer = post(engine, payload)
    assert status == 400 and message in answer["error"], answer
    assert received(engine).empty and events(engine) == []


def test_an_oversized_payload_is_413_and_stores_nothing(engine: Engine) -> None:
    alerts = [am_alert(instance=f"db-{i}:9100") for i in range(3000)]
    body = json.dumps(webhook(*alerts)).encode()
    assert len(body) > 1 << 20
    status, answer = post(engine, body)
    assert status == 413 and "1048576 bytes" in answer["error"]
    assert received(engine).empty
    assert post(engine, webhook(*alerts[:1500]))[0] == 200  # the same kind, under the limit


def test_a_body_without_content_length_is_400(engine: Engine) -> None:
    assert engine.http is not None
    with socket.create_connection((engine.http.host, engine.http.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/alerts/webhook HTTP/1.1\r\nHost: vigil\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")  # fmt: skip
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.0 400") and received(engine).empty


def test_other_routes_keep_their_64_kib_limit(engine: Engine) -> None:
    assert engine.http is not None
    response = requests.post(f"{engine.http.url}/api/v1/silences", data=b"x" * 100_000,
                             timeout=10, headers=engine_auth(engine.settings.data_dir))  # fmt: skip
    assert response.status_code == 413
    # a client that sends its whole megabyte still reads the answer, not a reset
    big = requests.post(f"{engine.http.url}/api/v1/silences", data=b"x" * (1 << 20),
                        timeout=10, headers=engine_auth(engine.settings.data_dir))  # fmt: skip
    assert big.status_code == 413 and "at most" in big.json()["error"]


def test_vigils_own_alerts_coming_back_are_skipped(engine: Engine) -> None:
    own = am_alert("QueueDeep")
    own["generatorURL"] = f"{EXTERNAL}/alerts?alert=abc-20261120T000000"
    lookalike = am_alert("Other")
    lookalike["generatorURL"] = f"{EXTERNAL}0/alerts?alert=x"  # another port, not Vigil
    answer = post(engine, webhook(own, lookalike, am_alert()))
    assert answer == (200, {"received": 3, "stored": 2, "skipped": 1})
    assert sorted(received(engine)["rule_id"]) == ["alertmanager:DiskFull", "alertmanager:Other"]


def test_concurrent_webhooks_are_all_stored(engine: Engine) -> None:
    """Requests arriving together are committed together; none is lost or doubled."""
    failures: list[Any] = []

    def sender(worker: int) -> None:
        for request in range(15):
            batch = [am_alert(instance=f"w{worker}-r{request}-{i}") for i in range(4)]
            status, answer = post(engine, webhook(*batch))
            if (status, answer.get("stored")) != (200, 4):
                failures.append(answer)

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(received(engine)) == 8 * 15 * 4 == len(events(engine))


def test_received_alerts_are_listed_and_dispatched(data_dir: Path) -> None:
    engine = _engine(data_dir, group_wait_seconds=0)
    try:
        post(engine, webhook(am_alert(starts=-1)))
        [listed] = list_alerts(engine.store, ["firing"])
        assert (listed["rule_id"], listed["source"]) == ("alertmanager:DiskFull", "alertmanager")
        assert listed["generator_url"] == "http://prometheus.example:9090/graph?g0.expr=disk"
        assert engine.dispatch() == 1
        payload = json.loads(engine.store.one("SELECT payload FROM notifications"))
        [alert] = payload["alerts"]
        assert (alert["status"], alert["labels"]["instance"]) == ("firing", "db-1:9100")
    finally:
        engine.stop()


def _queue_rule(engine: Engine, name: str = "QueueDeep") -> None:
    """A QueueDeep rule over a queue deep from minute 60 to 69 (as in test_evaluate)."""
    key = 'queue_depth{instance="q-1",service="billing"}'
    minutes = np.arange(120)
    deep = (minutes >= 60) & (minutes < 70)
    samples = pd.DataFrame({"series_key": key, "ts": T0 + pd.to_timedelta(minutes, unit="m"),
                            "value": np.where(deep, 500.0, 10.0)})  # fmt: skip
    catalog = pd.DataFrame([{"series_key": key, "metric": "queue_depth", "service": "billing",
                             "host": "q-1", "labels": {"instance": "q-1", "service": "billing"},
                             "unit": None}])  # fmt: skip
    ingest(engine.store, "file", PullResult(samples, catalog))
    rule = {"alert": name, "expr": "queue_depth > 100", "for": "3m",
            "labels": {"severity": "critical"}}  # fmt: skip
    engine.store.execute(
        "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, "
        "updated_at, updated_by) VALUES (?, 'threshold', TRUE, 'critical', ?, 1, ?, 'test')",
        [name, json.dumps(rule), T0.to_pydatetime()],
    )  # fmt: skip


# A rule may even be named as received alerts' rule ids are: they are still not its.
@pytest.mark.parametrize("rule_name", ["QueueDeep", "alertmanager:QueueDeep"])
def test_evaluation_never_changes_or_deletes_received_alerts(engine: Engine,
                                                             rule_name: str) -> None:  # fmt: skip
    _queue_rule(engine, rule_name)
    # Inside the evaluated window, one even named like the Vigil rule, one open, one closed.
    post(engine, webhook(am_alert("QueueDeep", starts=50, instance="q-1"),
                         am_alert(starts=20), am_alert("Gone", starts=5)))  # fmt: skip
    post(engine, webhook(am_alert("Gone", status="resolved", starts=5, ends=70)))
    before, history = received(engine), events(engine)
    for since, until in ((0, 119), (0, 65), (66, 119), (0, 119)):
        evaluate_window(engine.store, ModelCache(), T0 + pd.Timedelta(minutes=since),
                        T0 + pd.Timedelta(minutes=until), interval_s=60)  # fmt: skip
    pd.testing.assert_frame_equal(received(engine), before)
    assert [e for e in events(engine) if e[3] == "alertmanager"] == history
    own = engine.store.df("SELECT rule_id, state FROM alerts WHERE source = 'vigil'")
    assert own.values.tolist() == [[rule_name, "resolved"]]  # the rule itself still works


@pytest.mark.integration
def test_a_real_alertmanager_delivers_to_vigil(engine: Engine, tmp_path: Path) -> None:
    assert engine.http is not None
    config = webhook_config(f"{engine.http.url}/api/v1/alerts/webhook", TOKEN)
    manager = AlertmanagerServer(need_binary(BINARY), tmp_path / "am", config).start()
    try:
        labels = {"alertname": "DiskFull", "instance": "db-1:9100", "service": "billing",
                  "severity": "critical"}  # fmt: skip
        starts = utc_now().floor("s") - pd.Timedelta(minutes=1)
        alert = {"labels": labels, "annotations": {"summary": "disk 97% full"},
                 "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk"}  # fmt: skip
        manager.post_alerts([alert])
        row = _wait_for(engine, "firing", manager)
        [held] = manager.alerts()
        assert (row.fingerprint, row.generator_url) == (held["fingerprint"], alert["generatorURL"])
        assert json.loads(row.labels) == labels and row.fired_at == starts
        assert json.loads(row.annotations) == {"summary": "disk 97% full"}
        manager.post_alerts([{**alert, "endsAt": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")}])
        assert _wait_for(engine, "resolved", manager).alert_id == row.alert_id
    finally:
        manager.stop()


def _wait_for(engine: Engine, state: str, manager: AlertmanagerServer) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = received(engine)
        if len(rows) and rows["state"].iloc[-1] == state:
            return next(rows.tail(1).itertuples(index=False))
        time.sleep(0.2)
    raise AssertionError(f"no {state} alert arrived from Alertmanager:\n{manager.log()}")
