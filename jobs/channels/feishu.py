"""Feishu / Lark custom bot: an interactive card to ``.../open-apis/bot/v2/hook/TOKEN``.

A card rather than a ``post``: its header shows the title in red while firing and green
once resolved, and its ``lark_md`` body takes the same markdown as DingTalk and WeCom
(bold, links, lists), where ``post`` would need every line built as rich-text nodes.
With 签名校验 (a signing secret) the body carries ``timestamp`` (seconds, a string) and
``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")). Feishu answers
``{"code": 0, "msg": "success"}`` (older bots ``{"StatusCode": 0, ...}``); 9499 and
11232 are rate limits worth retrying, 19021 (sign match fail or timestamp more than an
hour off) and the rest are not. The request body is kept under 20 KB.
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

BODY_LIMIT = 20_000  # bytes of the JSON request
ROBOT = Robot(service="Feishu", code_keys=("code", "StatusCode"),
              message_keys=("msg", "StatusMessage"), rate_limited=frozenset({9499, 11232}),
              rate_limit_seconds=60.0)  # fmt: skip


def sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: the key is the timestamp and secret, the message empty."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def card(message: Message, firing: bool) -> dict[str, Any]:
    """The card: a coloured header with the title, one lark_md block with the body."""
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": message.title},
                   "template": "red" if firing else "green"},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": message.body}}],
    }  # fmt: skip


class FeishuChannel:
    kind = "feishu"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._endpoint = Endpoint.of(receiver)
        self._secret = secret_text(receiver.secret)
        self._renderer = Renderer(
            "markdown", language, receiver.title_template, receiver.body_template
        )

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        firing = payload.get("status") == "firing"
        try:
            message = self._renderer.render(
                payload, fits=lambda m: len(_encode(self._body(m, firing))) <= BODY_LIMIT
            )
        except TemplateProblem as problem:
            return problem.delivery()
        return post(
            self._endpoint,
            _encode(self._body(message, firing)),
            secrets=[self._secret],
            robot=ROBOT,
        )

    def _body(self, message: Message, firing: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"msg_type": "interactive", "card": card(message, firing)}
        if self._secret:
            now = int(time.time())
            body |= {"timestamp": str(now), "sign": sign(self._secret, now)}
        return body


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
