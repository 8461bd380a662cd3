"""The knowledge base's records that cross into pages and the assistant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

KINDS = ("runbook", "incident", "upload")


@dataclass(frozen=True)
class KnowledgeHit:
    """One retrieved passage. ``score`` is the fused reciprocal-rank score (higher is
    better, comparable within one result list only); ``link`` opens it in the app.
    ``extra`` carries what a kind adds: an incident's cause, fix, service, resolved_at."""

    chunk_id: str
    text: str
    source: str
    section: str
    link: str
    kind: str
    score: float
    language: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    kind: str
    chunks: int
    language: str
    updated_at: pd.Timestamp


@dataclass(frozen=True)
class IngestReport:
    """What one ingest or reindex did: documents indexed anew or again, left alone as
    unchanged, removed; chunks embedded, kept (their embedding reused), removed; and one
    line per document that could not be read (the others were still indexed)."""

    indexed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    chunks_embedded: int = 0
    chunks_kept: int = 0
    chunks_removed: int = 0
    errors: tuple[str, ...] = ()

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(
            self.indexed + other.indexed, self.unchanged + other.unchanged,
            self.removed + other.removed, self.chunks_embedded + other.chunks_embedded,
            self.chunks_kept + other.chunks_kept, self.chunks_removed + other.chunks_removed,
            self.errors + other.errors,
        )  # fmt: skip
