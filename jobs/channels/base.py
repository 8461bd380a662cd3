"""What every channel is: it takes one notification and reports how delivery went.

The notify job owns retries, backoff, dead letters and rate limits; a channel makes one
attempt and classifies its outcome, so the job can decide. ``detail`` is shown to users
and stored: it never carries a secret (a robot's token in its URL, a signing secret, a
password).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivery:
    """One attempt's outcome. ``retryable`` is False for errors that will not change by
    trying again (a 4xx other than 408 and 429, a robot refusing a bad signature)."""

    ok: bool
    retryable: bool = False
    status_code: int | None = None
    detail: str = ""
    retry_after_seconds: float | None = None


class Channel(Protocol):
    name: str  # the receiver's name
    kind: str  # webhook, slack, email, dingtalk, wecom, feishu

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        """One attempt to deliver ``payload`` (Alertmanager's webhook JSON, version 4);
        ``notification_id`` is the stable key receivers can deduplicate on."""
        ...
