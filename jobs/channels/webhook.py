"""Generic webhook: POST Alertmanager's payload as is, so anything that takes
Alertmanager's webhooks (another Alertmanager bridge, PagerDuty's or Opsgenie's
Alertmanager integrations, a team's own service) takes Vigil's.

Templates do not apply: the receiver gets the data, not a message. Each request
carries the notification id twice, as ``X-Vigil-Notification-Id`` and as the common
``Idempotency-Key``, so a receiver can drop the duplicate a retry may cause.
"""

from __future__ import annotations

import json
from typing import Any

from jobs.channels._http import Endpoint, post
from jobs.channels.base import Delivery
from vigil.notify_settings import Receiver, secret_text


class WebhookChannel:
    kind = "webhook"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._endpoint = Endpoint.of(receiver)
        self._token = secret_text(receiver.bearer_token)
        self._headers = dict(receiver.headers)

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        headers = dict(self._headers)
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        headers["X-Vigil-Notification-Id"] = notification_id
        headers["Idempotency-Key"] = notification_id
        body = json.dumps(payload, ensure_ascii=False).encode()
        # extra header values may be credentials too (an API key); short ones are not
        secrets = [self._token, *(v for v in self._headers.values() if len(v) >= 8)]
        return post(self._endpoint, body, headers=headers, secrets=secrets)
