"""A notification that looks like a real one, for checking a receiver's settings."""

from __future__ import annotations

from typing import Any

from vigil.clock import utc_now


def sample_payload(external_url: str, receiver: str) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) with one firing test alert."""
    base = external_url.rstrip("/")
    labels = {"alertname": "VigilTestNotification", "severity": "info", "service": "vigil"}
    annotations = {
        "summary": "Test notification from Vigil",
        "description": "If you can read this, the receiver is set up correctly.",
    }
    return {
        "version": "4", "groupKey": '{}:{alertname="VigilTestNotification"}',
        "truncatedAlerts": 0, "status": "firing", "receiver": receiver,
        "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
        "commonAnnotations": annotations, "externalURL": base,
        "alerts": [{
            "status": "firing", "labels": labels, "annotations": annotations,
            "startsAt": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": f"{base}/alerts",
            "fingerprint": "0000000000000000",
        }],
    }  # fmt: skip
