"""What re-indexing documents changes in the collection, planned first and written at once.

Planning compares a document's new chunks with the ids already stored for it: an id is
derived from the source and the chunk's content hash, so a chunk whose text did not
change keeps its id and its embedding (only its metadata is refreshed). All documents of
one reindex are then embedded in one call and written in a few large batches: Chroma's
cost is per call far more than per chunk, and an embedding failure leaves the collection
exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.chunking import Chunk
from knowledge.records import IngestReport
from vigil.clock import utc_now

CHUNKER_VERSION = "2"  # bump when chunking changes, so every document is re-chunked


def searchable(section: str, text: str) -> str:
    """What both retrievers see: the heading path gives a deep section its context."""
    return f"{section}\n{text}"


def document_hash(kind: str, data: bytes) -> str:
    return hashlib.sha256(f"{CHUNKER_VERSION}|{kind}|".encode() + data).hexdigest()


def chunk_ids(kind: str, source: str, chunks: Sequence[Chunk]) -> list[str]:
    """Stable ids: the same text in the same document keeps its id (and embedding)."""
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        n = seen[chunk.content_hash] = seen.get(chunk.content_hash, 0) + 1
        ids.append(f"{kind}:{source}#{chunk.content_hash[:16]}" + (f"-{n}" if n > 1 else ""))
    return ids


@dataclass
class Change:
    """One document's planned change: chunks to embed and add, to keep, to delete."""

    report: IngestReport
    add_ids: list[str] = field(default_factory=list)
    add_texts: list[str] = field(default_factory=list)
    add_metas: list[dict[str, Any]] = field(default_factory=list)
    keep_ids: list[str] = field(default_factory=list)
    keep_metas: list[dict[str, Any]] = field(default_factory=list)
    delete_ids: list[str] = field(default_factory=list)


def plan_document(source: str, kind: str, data: bytes, chunker: Callable[[], list[Chunk]],
                  stored: Mapping[str, str], extra: Mapping[str, str] | None = None
                  ) -> Change:  # fmt: skip
    """The change that makes ``source``'s chunks those of ``data``; ``stored`` maps the
    ids stored for it now to their document hash. Same bytes: nothing to do (not even
    chunking)."""
    doc_hash = document_hash(kind, data)
    if stored and set(stored.values()) == {doc_hash}:
        return Change(IngestReport(unchanged=(source,), chunks_kept=len(stored)))
    chunks = chunker()
    ids = chunk_ids(kind, source, chunks)
    now = utc_now().isoformat()
    change = Change(IngestReport())
    for position, (cid, chunk) in enumerate(zip(ids, chunks, strict=True)):
        meta = {"source": source, "kind": kind, "section": chunk.section,
                "anchor": chunk.anchor, "language": chunk.language,
                "hash": chunk.content_hash, "doc_hash": doc_hash, "position": position,
                "updated_at": now, **(extra or {})}  # fmt: skip
        if cid in stored:
            change.keep_ids.append(cid)
            change.keep_metas.append(meta)
        else:
            change.add_ids.append(cid)
            change.add_texts.append(chunk.text)
            change.add_metas.append(meta)
    change.delete_ids = sorted(set(stored) - set(ids))
    change.report = IngestReport(indexed=(source,), chunks_embedded=len(change.add_ids),
                                 chunks_kept=len(change.keep_ids),
                                 chunks_removed=len(change.delete_ids))  # fmt: skip
    return change


def _batches(n: int, size: int) -> Iterable[slice]:
    return (slice(start, start + size) for start in range(0, n, size))


def apply_changes(collection: Any, embed: Callable[[list[str]], list[Any]],
                  changes: Sequence[Change], batch: int) -> IngestReport:  # fmt: skip
    """Embed every added chunk, then write; returns the changes' reports summed."""
    add_ids = [i for c in changes for i in c.add_ids]
    add_texts = [t for c in changes for t in c.add_texts]
    add_metas = [m for c in changes for m in c.add_metas]
    texts = [searchable(m["section"], t) for m, t in zip(add_metas, add_texts, strict=True)]
    vectors = embed(texts) if texts else []
    for part in _batches(len(add_ids), batch):
        collection.upsert(ids=add_ids[part], embeddings=vectors[part], documents=add_texts[part],
                          metadatas=add_metas[part])  # fmt: skip
    keep_ids = [i for c in changes for i in c.keep_ids]
    keep_metas = [m for c in changes for m in c.keep_metas]
    for part in _batches(len(keep_ids), batch):
        collection.update(ids=keep_ids[part], metadatas=keep_metas[part])
    delete_ids = [i for c in changes for i in c.delete_ids]
    for part in _batches(len(delete_ids), batch):
        collection.delete(ids=delete_ids[part])
    report = IngestReport()
    for change in changes:
        report += change.report
    return report
