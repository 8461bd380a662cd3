"""The forward job: push Vigil's own alerts to Alertmanagers (API v2), as Prometheus does.

Nothing is queued. Each run sends the current state: every firing alert with ``endsAt``
four forward intervals ahead, so an Alertmanager resolves them by itself if Vigil stops
sending, and every alert resolved in the last 15 minutes with its real ``endsAt``, so a
resolve missed by one run (an Alertmanager restarting) is made good by the next. Alerts
received from an Alertmanager are never sent back. Each Alertmanager is tried on its own:
one that is down is logged and reported, and the others still get the alerts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import requests

from vigil.clock import utc_now
from vigil.errors import ForwardError
from vigil.notify_settings import AlertmanagerTarget, secret_text
from vigil.settings import Settings
from vigil.store import Store

log = logging.getLogger(__name__)

RESOLVED_RESEND = pd.Timedelta(minutes=15)
ENDS_AFTER_INTERVALS = 4  # Prometheus' resend delay × 4
MAX_BATCH = 256  # alerts per request, as Prometheus' notifier sends them


@dataclass(frozen=True)
class TargetResult:
    """How one Alertmanager took a run's alerts: how many it accepted, or why not."""

    url: str
    sent: int
    error: str | None = None


@dataclass(frozen=True)
class ForwardSummary:
    alerts: int
    results: tuple[TargetResult, ...]

    @property
    def errors(self) -> list[str]:
        return [f"{r.url}: {r.error}" for r in self.results if r.error is not None]


def _rfc3339(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def outgoing_alerts(
    store: Store, now: pd.Timestamp, interval_seconds: int, external_url: str
) -> list[dict[str, Any]]:
    """Vigil's alerts to send now, as API v2 ``postableAlerts`` (see the module docstring)."""
    frame = store.df(
        "SELECT alert_id, labels, annotations, state, fired_at, resolved_at FROM alerts "
        "WHERE coalesce(source, 'vigil') = 'vigil' AND fired_at IS NOT NULL "
        "AND (state = 'firing' OR (state = 'resolved' AND resolved_at >= ?)) "
        "ORDER BY alert_id",
        [(now - RESOLVED_RESEND).to_pydatetime()],
    )
    ends_firing = _rfc3339(now + pd.Timedelta(seconds=ENDS_AFTER_INTERVALS * interval_seconds))
    base = external_url.rstrip("/")
    return [
        {
            # Alertmanager, like Prometheus, treats an empty label as an absent one
            "labels": {k: v for k, v in json.loads(row.labels).items() if v != ""},
            "annotations": json.loads(row.annotations),
            "startsAt": _rfc3339(row.fired_at),
            "endsAt": ends_firing if row.state == "firing" else _rfc3339(row.resolved_at),
            "generatorURL": f"{base}/alerts?alert={row.alert_id}",
        }
        for row in frame.itertuples(index=False)
    ]


def post_alerts(
    target: AlertmanagerTarget, alerts: Sequence[dict[str, Any]],
    session: requests.Session | None = None,
) -> TargetResult:  # fmt: skip
    """POST ``alerts`` to one Alertmanager in batches; never raises, the result says how
    it went (the first failing batch ends the attempt: the next run sends everything)."""
    url = f"{target.url.rstrip('/')}/api/v2/alerts"
    headers = {"Content-Type": "application/json"}
    if target.bearer_token is not None:
        headers["Authorization"] = f"Bearer {secret_text(target.bearer_token)}"
    http = session or requests.Session()
    sent = 0
    try:
        for start in range(0, len(alerts), MAX_BATCH):
            batch = list(alerts[start : start + MAX_BATCH])
            response = http.post(url, data=json.dumps(batch, ensure_ascii=False).encode(),
                                 headers=headers, timeout=target.timeout_seconds)  # fmt: skip
            if response.status_code >= 300:
                detail = response.text.strip().replace("\n", " ")[:200]
                return TargetResult(target.url, sent, f"HTTP {response.status_code}: {detail}")
            sent += len(batch)
    except requests.RequestException as exc:
        return TargetResult(target.url, sent, f"{type(exc).__name__}: {exc}")
    finally:
        if session is None:
            http.close()
    return TargetResult(target.url, sent)


def forward_alerts(
    store: Store, targets: Sequence[AlertmanagerTarget], now: pd.Timestamp,
    interval_seconds: int, external_url: str,
) -> ForwardSummary:  # fmt: skip
    """Send Vigil's current alerts to every target; failures are logged and returned."""
    alerts = outgoing_alerts(store, now, interval_seconds, external_url)
    results = []
    for target in targets:
        result = post_alerts(target, alerts)
        if result.error is not None:
            log.warning("forwarding alerts to %s failed: %s", target.url, result.error)
        results.append(result)
    return ForwardSummary(len(alerts), tuple(results))


def forward_job(store: Store, settings: Settings, now: pd.Timestamp | None = None) -> int:
    """The scheduled run: forward to ``settings.alertmanagers`` and return the alerts sent.
    Raises :class:`ForwardError` naming the Alertmanagers that failed (after trying all of
    them), so the run is recorded as failed with the reason on the Jobs page."""
    if not settings.alertmanagers:
        return 0
    summary = forward_alerts(store, settings.alertmanagers, now if now is not None else utc_now(),
                             settings.forward_interval_seconds, settings.external_url)  # fmt: skip
    if summary.errors:
        raise ForwardError("; ".join(summary.errors))
    return summary.alerts
