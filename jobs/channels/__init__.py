"""Notification channels: each delivers one notification to one receiver, once, and
classifies the outcome (see :mod:`jobs.channels.base`); the notify job retries.

``build_channel(receiver)`` is the one way in. The payload is Alertmanager's webhook JSON
(version 4) as the dispatch job writes it; ``send_resolved`` is applied by routing
before a notification is written, so channels send what they are given.
"""

from __future__ import annotations

from collections.abc import Callable

from jobs.channels.base import Channel, Delivery
from jobs.channels.dingtalk import DingTalkChannel
from jobs.channels.email import EmailChannel
from jobs.channels.feishu import FeishuChannel
from jobs.channels.slack import SlackChannel
from jobs.channels.templates import pick_language
from jobs.channels.webhook import WebhookChannel
from jobs.channels.wecom import WeComChannel
from vigil.notify_settings import Receiver

__all__ = ["Channel", "Delivery", "build_channel"]

_CHANNELS: dict[str, Callable[[Receiver, str], Channel]] = {
    "webhook": WebhookChannel,
    "slack": SlackChannel,
    "email": EmailChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
}


def build_channel(receiver: Receiver, default_language: str = "en") -> Channel:
    """The channel for ``receiver``; messages in its language, else ``default_language``.
    Never fails on a broken template: that is reported by each ``send`` instead."""
    return _CHANNELS[receiver.type](receiver, pick_language(receiver.language, default_language))
