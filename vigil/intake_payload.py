"""Checking an Alertmanager webhook payload (version 4) whole, before anything is stored.

Every alert needs labels with an ``alertname``, string label and annotation values,
RFC 3339 times and a status; a payload with one bad alert is refused entirely with the
first problem named, so a bad payload changes nothing. Fingerprints are Alertmanager's
own (FNV-1a over the sorted labels), so an alert keeps its identity on both sides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.errors import IntakeError
from vigil.labels import labels_json

SOURCE = "alertmanager"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


@dataclass(frozen=True)
class ReceivedAlert:
    """One alert of a payload, checked and ready to store. Times are naive UTC; a
    resolved alert always has ``ends_at``, a firing one never."""

    fingerprint: str
    rule_id: str
    labels: str  # JSON, keys sorted
    annotations: str  # JSON, keys sorted
    severity: str
    service: str | None
    firing: bool
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    received_at: datetime


@dataclass(frozen=True)
class Webhook:
    """A checked payload: the alerts to store and how many were Vigil's own (skipped)."""

    alerts: tuple[ReceivedAlert, ...]
    skipped: int

    @property
    def received(self) -> int:
        return len(self.alerts) + self.skipped


def alertmanager_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives a label set (FNV-1a 64 over the sorted names and
    values, each followed by 0xff), so alerts posted without one dedup as there."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
            digest = ((digest ^ 0xFF) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"


def parse_webhook(body: bytes, received_at: datetime, own_url: str = "") -> Webhook:
    """The alerts of a webhook body, all checked; :class:`IntakeError` naming the first
    problem otherwise. Alerts whose generatorURL lies under ``own_url`` (Vigil's external
    URL) are Vigil's own, forwarded to Alertmanager and back: counted, not kept."""
    items = _decode(body)["alerts"]
    alerts = [_alert(item, f"alerts[{i}]", received_at) for i, item in enumerate(items)]
    kept = tuple(a for a in alerts if not _is_own(a.generator_url, own_url))
    return Webhook(kept, len(alerts) - len(kept))


def _decode(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise IntakeError("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise IntakeError(f"the body is not JSON: {exc}") from None
    except RecursionError:  # arrays nested thousands deep: no webhook payload is
        raise IntakeError("the body is not JSON Vigil reads: nested too deeply") from None
    if not isinstance(payload, dict):
        raise IntakeError("the body must be a JSON object: Alertmanager's webhook payload")
    version = payload.get("version", "4")
    if version != "4":
        raise IntakeError(f"webhook version {version!r} is not supported; Alertmanager sends '4'")
    if not isinstance(payload.get("alerts"), list):
        raise IntakeError("the payload has no alerts list")
    return payload


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _alert(item: Any, where: str, received_at: datetime) -> ReceivedAlert:
    if not isinstance(item, dict):
        raise IntakeError(f"{where} must be an object")
    labels = _strings(item.get("labels"), f"{where}.labels", required=True)
    if not labels.get("alertname"):
        raise IntakeError(f"{where}.labels has no alertname")
    annotations = _strings(item.get("annotations"), f"{where}.annotations", required=False)
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise IntakeError(f"{where}.status must be firing or resolved, not {status!r}")
    starts = _time(item.get("startsAt"), f"{where}.startsAt")
    ends = _time(item.get("endsAt"), f"{where}.endsAt")
    if starts is None:
        raise IntakeError(f"{where}.startsAt is missing")
    if ends is not None and ends < starts:
        raise IntakeError(f"{where}.endsAt is before its startsAt")
    firing = status == "firing"
    return ReceivedAlert(
        fingerprint=_text(item.get("fingerprint"), f"{where}.fingerprint")
        or alertmanager_fingerprint(labels),
        rule_id=f"alertmanager:{labels['alertname']}", labels=labels_json(labels),
        annotations=json.dumps(annotations, ensure_ascii=False, sort_keys=True),
        severity=labels.get("severity") or "warning", service=labels.get("service") or None,
        firing=firing, starts_at=starts,
        ends_at=None if firing else (ends or max(starts, received_at)),
        generator_url=_text(item.get("generatorURL"), f"{where}.generatorURL") or None,
        received_at=received_at,
    )  # fmt: skip


def _strings(value: Any, where: str, *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if value is None:
        raise IntakeError(f"{where} is missing")
    if not isinstance(value, dict):
        raise IntakeError(f"{where} must be an object of strings")
    for name, text in value.items():
        if not name:
            raise IntakeError(f"{where} has an empty name")
        if not isinstance(text, str):
            raise IntakeError(f"{where}.{name} must be a string, not {type(text).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise IntakeError(f"{where} must be a string, not {type(value).__name__}")
    return value


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time as naive UTC; None when absent or Go's zero time (no end)."""
    if value is None or value == "":
        return None
    text = value.upper() if isinstance(value, str) else None
    if text is None or not _RFC3339.fullmatch(text):
        raise IntakeError(f"{where} is not an RFC 3339 time: {str(value)[:40]!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise IntakeError(f"{where} is not a valid time: {text!r} ({exc})") from None
    if parsed.year == 1:
        return None
    if not 1970 <= parsed.year <= 2261:
        raise IntakeError(f"{where} is out of range: {text!r}")
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _is_own(url: str | None, own_url: str) -> bool:
    base = own_url.rstrip("/")
    return bool(base and url) and (url == base or str(url).startswith((f"{base}/", f"{base}?")))
