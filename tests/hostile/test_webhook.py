"""Hostile Alertmanager webhooks and JSON bodies at the engine: injection strings in
labels (kept as text), NaN literals, nesting thousands deep, invalid UTF-8 and bodies over
the limit. A refused body stores nothing; the engine keeps answering."""

from __future__ import annotations

import json

import pytest

from tests.hostile.conftest import Served, assert_http_refused
from tests.hostile.payloads import SQL_INJECTIONS
from vigil.http import MAX_BODY_BYTES, MAX_WEBHOOK_BYTES, WEBHOOK_PATH

FIRING = {"status": "firing", "startsAt": "2026-01-01T00:00:00Z", "annotations": {}}


def _webhook(labels: dict[str, str], **alert: object) -> bytes:
    return json.dumps({"version": "4", "alerts": [{**FIRING, "labels": labels, **alert}]}).encode()


@pytest.mark.parametrize("text", SQL_INJECTIONS)
def test_injection_in_webhook_labels_is_stored_as_text(served: Served, text: str) -> None:
    before = served.state()
    body = _webhook({"alertname": "Hostile", "service": text})
    status, answer = served.request("POST", WEBHOOK_PATH, body)
    assert status == 200 and answer["stored"] == 1, answer
    after = served.state()
    changed = {t for t in after.tables if after.tables[t] != before.tables.get(t)}
    assert changed <= {"alerts", "alert_events"}
    stored = served.engine.store.df(
        "SELECT labels->>'service' AS service FROM alerts WHERE labels->>'alertname' = 'Hostile'"
    )
    assert text in set(stored["service"])
    served.assert_healthy()


HOSTILE_BODIES = {
    "NaN literal": b'{"version": "4", "alerts": [{"labels": {"alertname": "A"}, "x": NaN}]}',
    "Infinity literal": b'{"version": "4", "alerts": [], "groupKey": Infinity}',
    "nested deep": b'{"version": "4", "alerts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid UTF-8": b'{"version": "4", "alerts": [], "x": "\xff\xfe"}',
    "NUL in name": _webhook({"alertname": "A", "a\x00b": "x"}),
    "number label": _webhook({"alertname": "A", "service": 1e308}),
    "nan start": _webhook({"alertname": "A"}, startsAt="nan"),
    "year 99999": _webhook({"alertname": "A"}, startsAt="99999-01-01T00:00:00Z"),
    "not an object": b"[]",
}


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
def test_a_hostile_webhook_is_refused_and_stores_nothing(served: Served, case: str) -> None:
    before = served.state()
    status, answer = served.request("POST", WEBHOOK_PATH, HOSTILE_BODIES[case])
    if case == "NUL in name":  # a label name is any string to Alertmanager; kept as text
        assert status == 200, answer
        return
    assert status == 400, answer
    assert_http_refused(status, answer)
    assert served.state() == before
    served.assert_healthy()


def test_a_webhook_over_the_limit_is_refused(served: Served) -> None:
    """Sent whole: the intake reads and drops up to four times its limit so that the
    sender gets the 413 (beyond that it closes the connection unread)."""
    before = served.state()
    padding = b" " * (MAX_WEBHOOK_BYTES + 1)
    status, answer = served.request(
        "POST", WEBHOOK_PATH, b'{"version": "4", "alerts": []}' + padding
    )
    assert status == 413
    assert_http_refused(status, answer)
    assert served.state() == before
    served.assert_healthy()


def test_a_deeply_nested_json_body_is_a_400(served: Served) -> None:
    depth = MAX_BODY_BYTES // 2 - 10
    status, answer = served.request("POST", "/api/v1/silences", b"[" * depth + b"]" * depth)
    assert status == 400, answer


def test_a_deeply_nested_json_body_leaves_the_engine_up(served: Served) -> None:
    """Nothing changes and /healthz answers."""
    before = served.state()
    depth = MAX_BODY_BYTES // 2 - 10
    status, answer = served.request("POST", "/api/v1/silences", b"[" * depth + b"]" * depth)
    assert status >= 400 and "error" in answer
    assert served.state() == before
    served.assert_healthy()
