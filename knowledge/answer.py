"""What the assistant hands back: the answer, where it came from, how and at what cost.

Records that cross into the CLI, the engine's HTTP port and the page, so they are frozen
dataclasses with a plain-JSON form.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

CITATION_KINDS = ("runbook", "alert", "series", "incident")


@dataclass(frozen=True)
class Citation:
    """One piece of evidence an answer rests on; ``series_id`` lets a page draw a series."""

    kind: str  # runbook | alert | series | incident
    title: str
    link: str | None = None
    series_id: int | None = None

    def key(self) -> tuple[str, str, str | None, int | None]:
        return (self.kind, self.title, self.link, self.series_id)


@dataclass(frozen=True)
class AnswerUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    estimated: bool = False


@dataclass(frozen=True)
class Answer:
    """``mode`` is "llm" or "evidence"; ``reason`` says why evidence mode was used
    (unconfigured, budget, rate_limit, failed), empty for a model's answer."""

    text: str
    citations: tuple[Citation, ...]
    mode: str
    reason: str
    usage: AnswerUsage
    session_id: str
    candidates: tuple[dict[str, Any], ...] = field(default=())
    rca: dict[str, Any] | None = None  # the root-cause ranking behind it (rca_as_dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"citations": [asdict(c) for c in self.citations],
                               "candidates": list(self.candidates)}  # fmt: skip


def unique(citations: list[Citation]) -> tuple[Citation, ...]:
    """Citations in first-seen order, each once."""
    seen: dict[tuple, Citation] = {}
    for citation in citations:
        seen.setdefault(citation.key(), citation)
    return tuple(seen.values())


def _names(citation: Citation) -> list[str]:
    """What an answer may call the cited thing: its title, a runbook's file or section,
    an alert's id, a series' metric."""
    names = [citation.title, *re.split(r" — | > ", citation.title)]
    if citation.link and "=" in citation.link:
        names.append(citation.link.rsplit("=", 1)[1].split("#")[0])
    names.append(citation.title.split("{")[0])
    return [n.strip().lower() for n in names if len(n.strip()) >= 3]


def mentioned_first(citations: tuple[Citation, ...], text: str) -> tuple[Citation, ...]:
    """The citations the answer names first (in their order), the rest after: a model's
    answer cites a few of the many things its tools returned."""
    lowered = text.lower()
    return tuple(sorted(citations, key=lambda c: not any(n in lowered for n in _names(c))))
