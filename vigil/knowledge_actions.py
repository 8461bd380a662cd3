"""Changes people make to the knowledge base, each recorded in the audit log.

The knowledge base itself (Chroma) knows nothing of who asked; these wrappers are what
the Knowledge page calls, so every upload and deletion is attributable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.audit import record
from vigil.store import Store

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase
    from knowledge.records import IngestReport


def upload_document(
    knowledge: KnowledgeBase, store: Store, who: str, name: str, data: bytes
) -> IngestReport:
    """Index an upload; a refused one (VigilError) changes nothing and is not recorded."""
    report = knowledge.ingest_bytes(name, data)
    with store.transaction() as cur:
        record(cur, who, "knowledge.upload", name, None,
               {"bytes": len(data), "chunks_embedded": report.chunks_embedded,
                "chunks_kept": report.chunks_kept})  # fmt: skip
    return report


def delete_document(knowledge: KnowledgeBase, store: Store, who: str, source: str) -> int:
    """Remove a document's passages; returns how many went (0: nothing to record)."""
    removed = knowledge.delete(source)
    if removed:
        with store.transaction() as cur:
            record(cur, who, "knowledge.delete", source, {"chunks": removed}, None)
    return removed
