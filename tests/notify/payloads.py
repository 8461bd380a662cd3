"""Alertmanager webhook payloads (version 4) as the dispatch job writes them."""

from __future__ import annotations

from typing import Any

VIGIL = "http://vigil.example:8501"


def alert(number: int, status: str = "firing", name: str = "HighLatency",
          **annotations: str) -> dict[str, Any]:  # fmt: skip
    """One alert of the ``orders`` service on instance ``web-<number>``."""
    return {
        "status": status,
        "labels": {"alertname": name, "service": "orders", "severity": "page",
                   "instance": f"web-{number}:9100"},
        "annotations": {"summary": f"p99 latency above 1s on web-{number}", **annotations},
        "startsAt": "2026-03-01T12:00:00Z",
        "endsAt": "2026-03-01T12:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": f"{VIGIL}/alerts?alert=a{number}",
        "fingerprint": f"{number:016x}",
    }  # fmt: skip


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """The notification of group {alertname, service} holding ``alerts``."""
    items = list(alerts) or [alert(1), alert(2)]
    firing = any(a["status"] == "firing" for a in items)
    return {
        "version": "4", "groupKey": '{}:{alertname="HighLatency",service="orders"}',
        "truncatedAlerts": 0, "status": "firing" if firing else "resolved",
        "receiver": "team", "groupLabels": {"alertname": "HighLatency", "service": "orders"},
        "commonLabels": {"alertname": "HighLatency", "service": "orders", "severity": "page"},
        "commonAnnotations": {}, "externalURL": VIGIL, "alerts": items,
    }  # fmt: skip


def many(count: int, description_length: int = 300) -> dict[str, Any]:
    """A notification too big for any robot: ``count`` alerts with long descriptions."""
    return payload(*(alert(i, description="延迟" * description_length) for i in range(count)))
