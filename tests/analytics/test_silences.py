"""Silences and inhibition behave as Alertmanager's do, edge cases included."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.silences import (
    InhibitRule,
    Silence,
    check_silence_matchers,
    inhibited_by,
    parse_matcher,
    silenced_by,
)

T0 = pd.Timestamp("2026-11-25 10:00")


def _silence(sid: str, *matchers: str, minutes: tuple[int, int] = (0, 60)) -> Silence:
    return Silence(sid, tuple(parse_matcher(m) for m in matchers),
                   T0 + pd.Timedelta(minutes=minutes[0]), T0 + pd.Timedelta(minutes=minutes[1]),
                   "alice")  # fmt: skip


@pytest.mark.parametrize(
    "text, labels, hit",
    [
        ('service="checkout"', {"service": "checkout"}, True),
        ("service=checkout", {"service": "checkout-eu"}, False),
        ('service=~"check.*"', {"service": "checkout"}, True),
        ('service=~"check"', {"service": "checkout"}, False),  # anchored at both ends
        ('service!~"check.*"', {"service": "search"}, True),
        ('service!="checkout"', {}, True),  # a missing label reads as empty
        ('env=~""', {}, True),
        ('msg="say \\"hi\\""', {"msg": 'say "hi"'}, True),
        ("zone=~'eu-(west|north)'", {"zone": "eu-north"}, True),
    ],
)
def test_matchers_follow_alertmanager(text: str, labels: dict, hit: bool) -> None:
    assert parse_matcher(text).matches(labels) is hit


@pytest.mark.parametrize(
    "text, message",
    [("service", "is not a matcher"), ("1x=y", "is not a matcher"), ('a=~"("', "invalid regex")],
)
def test_bad_matchers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_matcher(text)


def test_a_silence_that_would_mute_everything_is_refused() -> None:
    with pytest.raises(ValueError, match="mute everything"):
        check_silence_matchers([parse_matcher('env=~".*"'), parse_matcher('team!="x"')])
    with pytest.raises(ValueError, match="at least one matcher"):
        check_silence_matchers([])
    check_silence_matchers([parse_matcher('env=~".*"'), parse_matcher("team=x")])


def test_overlapping_silences_each_mute_and_each_is_named() -> None:
    silences = [
        _silence("deploy", 'service="checkout"'),
        _silence("region", 'zone=~"eu-.*"', minutes=(30, 90)),
        _silence("other", 'service="search"'),
    ]
    labels = {"service": "checkout", "zone": "eu-west"}
    assert silenced_by(labels, silences, T0 + pd.Timedelta(minutes=10)) == ["deploy"]
    assert silenced_by(labels, silences, T0 + pd.Timedelta(minutes=45)) == ["deploy", "region"]
    assert silenced_by(labels, silences, T0 + pd.Timedelta(minutes=75)) == ["region"]


def test_a_silence_expiring_during_a_firing_alert_stops_muting_it_then() -> None:
    silence = _silence("s", 'service="checkout"', minutes=(0, 30))
    labels = {"service": "checkout"}
    assert silence.state(T0 - pd.Timedelta(minutes=1)) == "pending"
    assert silenced_by(labels, [silence], T0 - pd.Timedelta(minutes=1)) == []
    assert silenced_by(labels, [silence], T0 + pd.Timedelta(minutes=29)) == ["s"]
    assert silence.state(T0 + pd.Timedelta(minutes=30)) == "expired"  # end is exclusive
    assert silenced_by(labels, [silence], T0 + pd.Timedelta(minutes=30)) == []


CRITICAL_MUTES_WARNING = InhibitRule.from_spec(
    {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
     "equal": ["instance"]}
)  # fmt: skip


def test_a_critical_alert_mutes_warnings_on_its_own_host_only() -> None:
    alerts = [
        {"alertname": "HostDown", "severity": "critical", "instance": "db-1"},
        {"alertname": "DiskSlow", "severity": "warning", "instance": "db-1"},
        {"alertname": "DiskSlow", "severity": "warning", "instance": "db-2"},
        {"alertname": "NoInstance", "severity": "warning"},
    ]
    muted = inhibited_by(alerts, [True, True, True, True], [CRITICAL_MUTES_WARNING])
    assert muted == [[], [0], [], []]
    assert inhibited_by(alerts, [False, True, True, True], [CRITICAL_MUTES_WARNING]) == [[]] * 4


def test_missing_equal_labels_count_as_equal() -> None:
    alerts = [
        {"severity": "critical"},
        {"severity": "warning"},
        {"severity": "warning", "instance": "a"},
    ]
    assert inhibited_by(alerts, [True] * 3, [CRITICAL_MUTES_WARNING]) == [[], [0], []]


def test_an_alert_on_both_sides_does_not_inhibit_its_like() -> None:
    rule = InhibitRule.from_spec(
        {"source_matchers": ['alertname="Flap"'], "target_matchers": ['alertname="Flap"']}
    )
    alerts = [{"alertname": "Flap", "instance": "a"}, {"alertname": "Flap", "instance": "b"}]
    assert inhibited_by(alerts, [True, True], [rule]) == [[], []]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"source_matchers": [], "target_matchers": ["a=b"]}, "source_matchers must be"),
        ({"source_matchers": ["a=b"], "target_matchers": ["a=b"], "equal": ["1x"]}, "label names"),
        ({"source_matchers": ["a=b"], "target_matchers": ["a=b"], "oops": 1}, "unknown"),
    ],
)
def test_bad_inhibition_rules_say_what_is_wrong(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InhibitRule.from_spec(spec)
