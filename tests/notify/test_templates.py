"""Message rendering: titles, languages, time formatting and fitting size limits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.channels.templates import Message, Renderer, TemplateProblem, pick_language, when
from tests.notify.payloads import alert, many, payload


def test_title_counts_firing_alerts_like_alertmanager() -> None:
    mixed = payload(alert(1), alert(2), alert(3, "resolved"))
    assert Renderer("text", "en").render(mixed).title == "[FIRING:2] HighLatency orders"
    resolved = payload(alert(1, "resolved"))
    assert Renderer("text", "zh").render(resolved).title == "[已恢复] HighLatency orders"


def test_title_falls_back_to_alertname_without_group_labels() -> None:
    ungrouped = payload(alert(1)) | {"groupLabels": {}}
    assert Renderer("markdown", "en").render(ungrouped).title == "[FIRING:1] HighLatency"


def test_title_template_output_is_one_line() -> None:
    renderer = Renderer("text", "en", title_template="{{ status }}\n\n  {{ receiver }}")
    assert renderer.render(payload()).title == "firing team"


@pytest.mark.parametrize(
    ("language", "default", "chosen"),
    [(None, "zh", "zh"), ("en", "zh", "en"), (None, "zh-CN", "zh"), (None, "fr", "en")],
)
def test_receiver_language_wins_over_the_default(
    language: str | None, default: str, chosen: str
) -> None:
    assert pick_language(language, default) == chosen


def test_times_are_shown_in_utc_and_zero_time_is_blank() -> None:
    assert when("2026-03-01T20:00:00.5+08:00") == "2026-03-01 12:00:00 UTC"
    assert when("0001-01-01T00:00:00Z") == ""
    assert when("yesterday") == "yesterday"


def test_firing_alert_shows_no_end_time() -> None:
    body = Renderer("text", "en").render(payload(alert(1))).body
    assert "Started: 2026-03-01 12:00:00 UTC" in body and "Ended" not in body


def test_override_can_include_the_default_body() -> None:
    renderer = Renderer("markdown", "en", body_template='Runbook: x\n{% include "markdown.j2" %}')
    body = renderer.render(payload()).body
    assert body.startswith("Runbook: x") and "**Firing: HighLatency**" in body


def test_broken_override_is_reported_at_render_not_construction() -> None:
    renderer = Renderer("html", "en", body_template="{% if %}")
    with pytest.raises(TemplateProblem, match=r"^body_template is invalid: line 1: "):
        renderer.render(payload())


def test_single_huge_alert_is_cut_to_fit() -> None:
    huge = payload(alert(1, description="x" * 50_000))
    message = Renderer("markdown", "en").render(huge, fits=lambda m: len(m.body) <= 1000)
    assert len(message.body) <= 1000 and message.body.endswith("…")


def _shown(message: Message) -> int:
    return message.body.count("**Firing: HighLatency**")


def _omitted(message: Message) -> int:
    found = re.search(r"… and (\d+) more alerts", message.body)
    return int(found.group(1)) if found else 0


@settings(max_examples=25, deadline=None)
@given(count=st.integers(1, 60), limit=st.integers(600, 30_000))
def test_fitted_body_fits_and_accounts_for_every_alert(count: int, limit: int) -> None:
    message = Renderer("markdown", "en").render(
        many(count, 40), fits=lambda m: len(m.body.encode()) <= limit
    )
    assert len(message.body.encode()) <= limit
    assert _shown(message) + _omitted(message) == count
    assert message.title == f"[FIRING:{count}] HighLatency orders"
