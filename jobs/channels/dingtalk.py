"""DingTalk (钉钉) custom robot: a markdown message to a group's webhook.

With 加签 (a signing secret) every request carries ``timestamp`` (milliseconds) and
``sign`` = base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")) in its query;
DingTalk refuses a sign that does not match or a timestamp more than an hour off. It
answers HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; any other errcode failed:
130101 (more than 20 messages a minute; DingTalk then throttles the robot for ten
minutes) is worth retrying, 310000 (sign, keyword or IP whitelist mismatch) and the rest
are not. The markdown text may be at most 20 000 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from jobs.channels._http import Endpoint, Robot, post
from jobs.channels.base import Delivery
from jobs.channels.templates import Message, Renderer, TemplateProblem
from vigil.notify_settings import Receiver, secret_text

TEXT_LIMIT = 20_000  # bytes
ROBOT = Robot(service="DingTalk", code_keys=("errcode",), message_keys=("errmsg",),
              rate_limited=frozenset({130101}), rate_limit_seconds=600.0)  # fmt: skip


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of ``timestamp_ms``, base64 (the query encoding is httpx's)."""
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkChannel:
    kind = "dingtalk"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._endpoint = Endpoint.of(receiver)
        self._secret = secret_text(receiver.secret)
        self._renderer = Renderer(
            "markdown", language, receiver.title_template, receiver.body_template
        )

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        try:
            message = self._renderer.render(payload, fits=_fits)
        except TemplateProblem as problem:
            return problem.delivery()
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": _text(message)}}
        params: dict[str, str] = {}
        if self._secret:
            now = int(time.time() * 1000)
            params = {"timestamp": str(now), "sign": sign(self._secret, now)}
        return post(
            self._endpoint,
            json.dumps(body, ensure_ascii=False).encode(),
            params=params,
            secrets=[self._secret],
            robot=ROBOT,
        )


def _text(message: Message) -> str:
    return f"### {message.title}\n\n{message.body}"


def _fits(message: Message) -> bool:
    return len(_text(message).encode()) <= TEXT_LIMIT
