"""What the assistant hands back: the answer, where it came from, how and at what cost.

Records that cross into the CLI, the engine's HTTP port and the page, so they are frozen
dataclasses with a plain-JSON form.
"""

from __future__ import annotations

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
