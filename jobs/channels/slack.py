"""Slack incoming webhook: ``{"text": ..., "blocks": [...]}`` in mrkdwn.

The blocks carry the message (a header with the title, then the body in sections); the
``text`` carries it too, because Slack shows ``text`` in notifications and to clients
that cannot draw blocks. Slack answers 200 ``ok``; failures are plain-text reasons
("HTTP 403: invalid_token", "HTTP 404: no_service") and 429 with Retry-After. Slack
refuses blocks past its limits (a header of 150 characters, a section of 3000, 50
blocks) and cuts ``text`` at 40 000 characters, so messages are made to fit those.
"""

from __future__ import annotations

import json
from typing import Any

from jobs.channels._http import Endpoint, post
from jobs.channels.base import Delivery
from jobs.channels.templates import Message, Renderer, TemplateProblem, slack_escape
from vigil.notify_settings import Receiver

TEXT_LIMIT = 40_000
SECTION_LIMIT = 3_000
HEADER_LIMIT = 150
BLOCK_LIMIT = 50


class SlackChannel:
    kind = "slack"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._endpoint = Endpoint.of(receiver)
        self._renderer = Renderer(
            "mrkdwn", language, receiver.title_template, receiver.body_template
        )

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        try:
            message = self._renderer.render(payload, fits=_fits)
        except TemplateProblem as problem:
            return problem.delivery()
        body = json.dumps(slack_message(message), ensure_ascii=False).encode()
        return post(self._endpoint, body)


def slack_message(message: Message) -> dict[str, Any]:
    """The webhook body: header block, body sections, and the same words as text."""
    header = message.title if len(message.title) <= HEADER_LIMIT else message.title[:149] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
    ]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in sections(message.body)
    ]
    return {"text": _text(message), "blocks": blocks}


def sections(body: str) -> list[str]:
    """``body`` split at line ends into pieces Slack takes as one section each (a line
    longer than a section is split where it must be)."""
    pieces: list[str] = []
    current = ""
    for line in body.splitlines():
        while len(line) > SECTION_LIMIT:
            pieces += [current] if current else []
            pieces.append(line[:SECTION_LIMIT])
            current, line = "", line[SECTION_LIMIT:]
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _text(message: Message) -> str:
    return f"*{slack_escape(message.title)}*\n{message.body}"


def _fits(message: Message) -> bool:
    return len(_text(message)) <= TEXT_LIMIT and len(sections(message.body)) < BLOCK_LIMIT
