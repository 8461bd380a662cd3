"""WeCom (企业微信) group robot: a markdown message to ``.../webhook/send?key=KEY``.

The key in the URL is the robot's only credential. WeCom answers HTTP 200 with
``{"errcode": 0, "errmsg": "ok"}``; 45009 (api freq out of limit: 20 messages a minute)
is worth retrying a minute later, other codes (93000 invalid key, 40058 content too
long) are not. Markdown ``content`` may be at most 4096 bytes of UTF-8, which is why
the title is a heading inside it and long alert lists are cut.
"""

from __future__ import annotations

import json
from typing import Any

from jobs.channels._http import Endpoint, Robot, post
from jobs.channels.base import Delivery
from jobs.channels.templates import Message, Renderer, TemplateProblem
from vigil.notify_settings import Receiver

CONTENT_LIMIT = 4096  # bytes
ROBOT = Robot(service="WeCom", code_keys=("errcode",), message_keys=("errmsg",),
              rate_limited=frozenset({45009}), rate_limit_seconds=60.0)  # fmt: skip


class WeComChannel:
    kind = "wecom"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._endpoint = Endpoint.of(receiver)
        self._renderer = Renderer(
            "markdown", language, receiver.title_template, receiver.body_template
        )

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        try:
            message = self._renderer.render(payload, fits=_fits)
        except TemplateProblem as problem:
            return problem.delivery()
        body = {"msgtype": "markdown", "markdown": {"content": _content(message)}}
        return post(self._endpoint, json.dumps(body, ensure_ascii=False).encode(), robot=ROBOT)


def _content(message: Message) -> str:
    return f"## {message.title}\n\n{message.body}"


def _fits(message: Message) -> bool:
    return len(_content(message).encode()) <= CONTENT_LIMIT
