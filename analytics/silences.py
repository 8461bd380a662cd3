"""Muting alerts the way Alertmanager does: silences and inhibition rules.

A **silence** mutes every alert whose labels match all of its matchers while it is active
(``starts_at <= t < ends_at``); expired silences stay as history. An **inhibition rule**
mutes a *target* alert while a firing *source* alert exists whose labels are equal on the
rule's ``equal`` labels (a label missing on both counts as equal); an alert that matches
both sides is not inhibited by alerts that match both sides too (itself included).
Matchers are Alertmanager's and PromQL's: ``=``, ``!=``, ``=~`` and ``!~`` (regexes
anchored at both ends); a missing label reads as empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from analytics.selectors import LABEL_NAME

_MATCHER = re.compile(r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$""", re.DOTALL)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # =, !=, =~, !~
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = str(labels.get(self.name, "") or "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value, flags=re.DOTALL) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """``name="value"``, ``name!=value``, ``name=~"regex"`` or ``name!~regex``; ValueError
    with what is wrong otherwise."""
    found = _MATCHER.fullmatch(text or "")
    if found is None:
        raise ValueError(f'{text!r} is not a matcher; write label="value" (or !=, =~, !~)')
    name, op, value = found.groups()
    if not LABEL_NAME.fullmatch(name):
        raise ValueError(f"invalid label name {name!r}")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"invalid regex {value!r} in {text!r}: {err}") from None
    return Matcher(name, op, value)


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class Silence:
    silence_id: str
    matchers: tuple[Matcher, ...]
    starts_at: pd.Timestamp
    ends_at: pd.Timestamp
    created_by: str
    comment: str = ""

    def state(self, at: pd.Timestamp) -> str:
        """pending (not started), active or expired."""
        if at < self.starts_at:
            return "pending"
        return "active" if at < self.ends_at else "expired"


def check_silence_matchers(matchers: Sequence[Matcher]) -> None:
    """Alertmanager refuses a silence that could match everything: at least one matcher
    must not match the empty string (a missing label)."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    if all(m.matches({}) for m in matchers):
        raise ValueError(
            "every matcher also matches alerts without that label, so this silence would "
            'mute everything; add one that needs a value (e.g. service="checkout")'
        )


def silenced_by(
    labels: Mapping[str, str], silences: Sequence[Silence], at: pd.Timestamp
) -> list[str]:
    """Ids of the silences active at ``at`` that mute an alert with ``labels``."""
    return [
        s.silence_id
        for s in silences
        if s.state(at) == "active" and matches_all(s.matchers, labels)
    ]


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> InhibitRule:
        """From ``{source_matchers: [...], target_matchers: [...], equal: [...]}`` as in
        Alertmanager's configuration."""
        unknown = set(spec) - {"source_matchers", "target_matchers", "equal"}
        if unknown:
            raise ValueError(f"unknown inhibition rule key(s) {sorted(unknown)}")

        def matchers(key: str) -> tuple[Matcher, ...]:
            texts = spec.get(key) or []
            if not isinstance(texts, list) or not texts:
                raise ValueError(f"{key} must be a non-empty list of matchers")
            return tuple(parse_matcher(str(t)) for t in texts)

        equal = spec.get("equal") or []
        if not isinstance(equal, list) or not all(LABEL_NAME.fullmatch(str(e)) for e in equal):
            raise ValueError("equal must be a list of label names")
        return cls(matchers("source_matchers"), matchers("target_matchers"),
                   tuple(str(e) for e in equal))  # fmt: skip


def inhibited_by(
    alerts: Sequence[Mapping[str, str]], firing: Sequence[bool], rules: Sequence[InhibitRule]
) -> list[list[int]]:
    """For each alert (its labels), the indices of the firing alerts that inhibit it."""
    out: list[list[int]] = [[] for _ in alerts]
    for rule in rules:
        sources = [i for i, labels in enumerate(alerts)
                   if firing[i] and matches_all(rule.source, labels)]  # fmt: skip
        if not sources:
            continue
        keys = {i: tuple(str(alerts[i].get(e, "") or "") for e in rule.equal) for i in sources}
        for j, labels in enumerate(alerts):
            if not matches_all(rule.target, labels):
                continue
            key = tuple(str(labels.get(e, "") or "") for e in rule.equal)
            both = matches_all(rule.source, labels)
            hits = [
                i for i in sources
                if keys[i] == key and not (both and matches_all(rule.target, alerts[i]))
            ]  # fmt: skip
            out[j].extend(i for i in hits if i not in out[j])
    return out
