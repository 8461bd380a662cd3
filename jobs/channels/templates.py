"""Message text for the channels, from Jinja2 templates, in English or Simplified Chinese.

Every channel renders the same two things from Alertmanager's payload: a one-line title
("[FIRING:2] HighLatency orders") and a body listing the alerts, in the markup the
channel speaks (``markdown`` for DingTalk / WeCom / Feishu, Slack ``mrkdwn``, ``text``
and ``html`` for email). The defaults live in ``templates/*.j2``; a receiver's
``title_template`` / ``body_template`` replace them and see the payload's keys plus
``t`` (the words of the language), ``title``, ``language``, ``firing_count``,
``resolved_count``, ``group_name`` and the filters ``when``, ``pairs`` and ``esc``.
User templates run in Jinja2's sandbox (they come from configuration, not code), and
a template that does not compile or fails to render raises :class:`TemplateProblem`,
which the channel turns into a permanent :class:`Delivery` rather than a crash.

Robots cap message size, so :meth:`Renderer.render` takes a ``fits`` test: when the
body is too big it drops alerts from the end and counts them in ``truncatedAlerts``
(Alertmanager's own field; the defaults print "… and N more alerts"), and as a last
resort cuts the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import FileSystemLoader, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from jobs.channels.base import Delivery

Flavour = Literal["markdown", "mrkdwn", "text", "html"]
TEMPLATE_DIR = Path(__file__).with_name("templates")
TITLE_LIMIT = 256  # characters; a title is one line in a chat list or a mail subject
_SHOWN_ELSEWHERE = frozenset({"alertname", "severity"})

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "firing": "FIRING", "resolved": "RESOLVED", "alert_firing": "Firing",
        "alert_resolved": "Resolved", "severity": "severity", "summary": "Summary",
        "description": "Description", "labels": "Labels", "started": "Started",
        "ended": "Ended", "view": "View in Vigil", "open": "Open Vigil",
        "more": "… and {n} more alerts",
    },
    "zh": {
        "firing": "告警", "resolved": "已恢复", "alert_firing": "告警中",
        "alert_resolved": "已恢复", "severity": "级别", "summary": "摘要",
        "description": "详情", "labels": "标签", "started": "开始时间",
        "ended": "恢复时间", "view": "在 Vigil 中查看", "open": "打开 Vigil",
        "more": "… 另有 {n} 条告警未列出",
    },
}  # fmt: skip


class TemplateProblem(Exception):
    """A title or body template that does not compile or fails to render; the message
    names the template and the reason, and holds no secret (templates are settings)."""

    def delivery(self) -> Delivery:
        return Delivery(ok=False, retryable=False, detail=str(self))


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def pick_language(language: str | None, default_language: str) -> str:
    """The receiver's language, else the default; anything unknown reads as English."""
    chosen = (language or default_language or "en").lower()
    return "zh" if chosen.startswith("zh") else "en"


def when(value: Any) -> str:
    """An RFC 3339 time as "2026-03-01 12:00:00 UTC"; Alertmanager's zero time (an
    alert that has not ended) as ""; anything unparseable unchanged."""
    text = str(value or "")
    if not text or text.startswith("0001-01-01"):
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pairs(labels: Mapping[str, Any] | None, hide: tuple[str, ...] | None = None) -> str:
    """Labels as ``k=v, k=v`` sorted by name, without the ones the title line shows."""
    hidden = _SHOWN_ELSEWHERE if hide is None else frozenset(hide)
    return ", ".join(f"{k}={v}" for k, v in sorted((labels or {}).items()) if k not in hidden)


def slack_escape(value: Any) -> str:
    """Slack's three control characters in mrkdwn; everything else is literal."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@cache
def _environment(flavour: Flavour) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATE_DIR), autoescape=flavour == "html",
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    environment.filters.update(
        when=when, pairs=pairs, esc=slack_escape if flavour == "mrkdwn" else str
    )
    return environment


def _compile(flavour: Flavour, source: str | None, default: str, what: str) -> Template:
    environment = _environment(flavour)
    if source is None:
        return environment.get_template(default)
    try:
        return environment.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"{what} is invalid: line {error.lineno}: {error.message}") from None


def _context(payload: Mapping[str, Any], language: str) -> dict[str, Any]:
    alerts = list(payload.get("alerts") or [])
    groups = payload.get("groupLabels") or {}
    name = " ".join(str(v) for _, v in sorted(groups.items()))
    if not name:
        first = alerts[0].get("labels", {}) if alerts else {}
        name = str((payload.get("commonLabels") or {}).get("alertname", first.get("alertname", "")))
    return {
        **payload, "alerts": alerts, "truncatedAlerts": payload.get("truncatedAlerts") or 0,
        "t": WORDS[language], "language": language, "group_name": name,
        "firing_count": sum(a.get("status") == "firing" for a in alerts),
        "resolved_count": sum(a.get("status") == "resolved" for a in alerts),
    }  # fmt: skip


class Renderer:
    """Title and body of one receiver's messages. Templates compile once, here; a
    broken override is remembered and reported at each render, never raised earlier,
    so building channels from settings cannot fail on a template."""

    def __init__(self, flavour: Flavour, language: str, title_template: str | None = None,
                 body_template: str | None = None) -> None:  # fmt: skip
        self.flavour = flavour
        self.language = language
        self._problem: TemplateProblem | None = None
        try:
            self._title = _compile("text", title_template, "title.j2", "title_template")
            self._body = _compile(flavour, body_template, f"{flavour}.j2", "body_template")
        except TemplateProblem as problem:
            self._problem = problem

    def render(self, payload: Mapping[str, Any],
               fits: Callable[[Message], bool] | None = None) -> Message:  # fmt: skip
        """The message for ``payload``, made to pass ``fits`` when given; raises
        :class:`TemplateProblem` when a template cannot be used."""
        if self._problem is not None:
            raise self._problem
        context = _context(payload, self.language)
        title = _cut(" ".join(_run(self._title, context, "title_template").split()), TITLE_LIMIT)
        context["title"] = title
        message = Message(title, self._body_for(context, len(context["alerts"])))
        if fits is None or fits(message):
            return message
        # at least one alert is shown, cut if it must be: a bare "and 1 more" helps nobody
        shown = _largest(1, len(context["alerts"]) - 1,
                         lambda n: fits(Message(title, self._body_for(context, n))))  # fmt: skip
        message = Message(title, self._body_for(context, shown))
        if fits(message):
            return message
        keep = _largest(0, len(message.body), lambda n: fits(Message(title, _cut(message.body, n))))
        return Message(title, _cut(message.body, keep))

    def _body_for(self, context: dict[str, Any], shown: int) -> str:
        alerts = context["alerts"]
        omitted = max(len(alerts) - shown, 0)
        trimmed = {**context, "alerts": alerts[:shown],
                   "truncatedAlerts": context["truncatedAlerts"] + omitted}  # fmt: skip
        return _run(self._body, trimmed, "body_template").strip()


def _run(template: Template, context: Mapping[str, Any], what: str) -> str:
    try:
        return template.render(context)
    except Exception as error:  # a user template can raise anything: 1/0, SecurityError
        raise TemplateProblem(f"{what} failed: {type(error).__name__}: {error}") from None


def _largest(lower: int, upper: int, ok: Callable[[int], bool]) -> int:
    """The largest n in [lower, upper] with ok(n), for a monotone ok; lower if none."""
    low, high = lower, max(upper, lower)
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, length: int) -> str:
    return text if length >= len(text) else text[: max(length - 1, 0)].rstrip() + "…"
