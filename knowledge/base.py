"""The knowledge base: runbooks, uploads and past incidents in ChromaDB, searched hybrid.

Every chunk is stored once, under an id derived from its source and content hash, so
re-ingesting a document embeds only the chunks whose text changed, and an unchanged
document (same bytes) is skipped before it is even chunked. Embeddings are computed
before anything is written: a failing document or embedding endpoint changes nothing.

Search fuses BM25 over the chunks (exact terms) with the vector neighbours from Chroma
(wording) by reciprocal rank fusion. The BM25 index lives in memory and is rebuilt on the
first search after a change. One lock serialises the engine's threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import chromadb
import numpy as np
import pandas as pd
from chromadb.config import Settings as ChromaSettings

from knowledge.changes import Change, apply_changes, plan_document, searchable
from knowledge.chunking import KINDS_BY_SUFFIX, MAX_DOCUMENT_BYTES, chunk_document, chunk_text
from knowledge.embedding import build_embedding, collection_name
from knowledge.fusion import reciprocal_rank_fusion
from knowledge.incidents import incident_link, incident_metadata, incident_text
from knowledge.lexical import LexicalIndex
from knowledge.records import DocumentInfo, IngestReport, KnowledgeHit
from knowledge.uploads import check_upload
from vigil.errors import VigilError
from vigil.settings import Settings

Progress = Callable[[int, int], None]
_CANDIDATES = 30  # per retriever, before fusion
_INCIDENT_KEYS = ("incident_id", "title", "service", "cause", "fix", "resolved_at")


def _runbook_files(directory: Path) -> list[Path]:
    """Files of a type Vigil reads, hidden directories (``.git``, drafts) left out."""

    def hidden(path: Path) -> bool:
        return any(part.startswith(".") for part in path.relative_to(directory).parts)

    readable = (p for p in directory.rglob("*") if p.suffix.lower() in KINDS_BY_SUFFIX)
    return sorted(p for p in readable if p.is_file() and not hidden(p))


class _Snapshot:
    """Every stored chunk, as the lexical index and the hit builder need them."""

    def __init__(self, ids: list[str], documents: list[str], metadatas: list[dict],
                 token_cache: dict[str, list[str]]) -> None:  # fmt: skip
        self.ids, self.documents, self.metadatas = ids, documents, metadatas
        self.frame = pd.DataFrame(metadatas, index=ids)
        self.texts = dict(zip(ids, documents, strict=True))
        sections = self.frame["section"] if len(ids) else pd.Series(dtype=str)
        texts = [searchable(s, d) for s, d in zip(sections, documents, strict=True)]
        self.lexical = LexicalIndex(ids, texts, token_cache)

    def patched(self, removed: set[str], upserts: Mapping[str, tuple[str | None, dict]],
                token_cache: dict[str, list[str]]) -> _Snapshot | None:  # fmt: skip
        """This snapshot with chunks removed and added or re-described (text ``None``: the
        text is unchanged), without reading the collection back; ``None`` if it cannot."""
        keep = [i for i, cid in enumerate(self.ids) if cid not in removed and cid not in upserts]
        ids = [self.ids[i] for i in keep] + list(upserts)
        metas = [self.metadatas[i] for i in keep] + [meta for _, meta in upserts.values()]
        texts = [self.documents[i] for i in keep]
        for cid, (text, _) in upserts.items():
            if text is None and cid not in self.texts:
                return None
            texts.append(self.texts[cid] if text is None else text)
        return _Snapshot(ids, texts, metas, token_cache)

    def mask(self, where: Mapping[str, str]) -> np.ndarray:
        mask = np.ones(len(self.frame), dtype=bool)
        for key, value in where.items():
            column = self.frame[key] if key in self.frame else pd.Series("", self.frame.index)
            mask &= (column == value).to_numpy()
        return mask


def _read_bounded(path: Path) -> bytes:
    """A document's bytes, refusing before reading one too large to be a runbook."""
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise VigilError(f"{path.name} is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB "
                         "(split it)")  # fmt: skip
    return path.read_bytes()


class KnowledgeBase:
    """Open with :meth:`open`; cheap to keep open for the life of the engine."""

    def __init__(self, client: Any, embedding: Any, runbooks_dir: Path) -> None:
        self._client = client
        self._embedding = embedding
        self.runbooks_dir = runbooks_dir
        self._collection = client.get_or_create_collection(
            collection_name(embedding), embedding_function=embedding,
            metadata={"hnsw:space": "cosine"},
        )  # fmt: skip
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._tokens: dict[str, list[str]] = {}
        # writes since the snapshot was taken, folded into it by the next search
        self._removed: set[str] = set()
        self._upserts: dict[str, tuple[str | None, dict]] = {}

    @classmethod
    def open(cls, settings: Settings, embedding: Any | None = None) -> KnowledgeBase:
        """The knowledge base in ``settings.chroma_dir``, with the configured embedding
        (or ``embedding``, a chromadb ``EmbeddingFunction``, when given)."""
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(settings.chroma_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        return cls(client, embedding or build_embedding(settings), settings.runbooks_path)

    def close(self) -> None:
        with self._lock:
            self._snapshot = None
            self._removed, self._upserts = set(), {}
            self._client.close()

    # -- writing ---------------------------------------------------------------------

    def ingest_path(self, path: Path) -> IngestReport:
        """Index one file: a runbook when it lies in the runbooks directory (its source is
        the path relative to it), otherwise an upload named after the file."""
        path = Path(path)
        if not path.is_file():
            raise VigilError(f"{path} is not a file")
        try:
            relative = path.resolve().relative_to(self.runbooks_dir.resolve()).as_posix()
        except ValueError:
            return self.ingest_bytes(path.name, _read_bounded(path))
        return self._ingest_runbook(relative, _read_bounded(path))

    def ingest_bytes(self, name: str, data: bytes) -> IngestReport:
        """Index an upload; a bad name, type, size or content raises :class:`VigilError`
        and changes nothing."""
        source = check_upload(name, data)
        with self._lock:
            stored = self._stored({"source": source})
            if any(meta["kind"] != "upload" for meta in stored.values()):
                raise VigilError(f"{source} is already a runbook's name; rename the upload")
            return self._write([self._plan(source, "upload", data, stored)])

    def _ingest_runbook(self, source: str, data: bytes) -> IngestReport:
        with self._lock:
            stored = self._stored({"source": source})
            return self._write([self._plan(source, "runbook", data, stored)])

    def index_incident(self, incident_id: str, title: str, service: str | None, cause: str,
                       fix: str, text: str = "",
                       resolved_at: pd.Timestamp | None = None) -> None:  # fmt: skip
        """Index (or update) a resolved incident as knowledge of kind ``incident``; its
        link is :func:`knowledge.incidents.incident_link` of the id."""
        if not incident_id.strip() or not title.strip():
            raise VigilError("an incident needs an id and a title to be indexed")
        body = incident_text(title, service, cause, fix, text)
        extra = incident_metadata(incident_id, title, service, cause, fix, resolved_at)
        data = repr(sorted(extra.items())).encode() + body.encode()
        with self._lock:
            stored = self._stored({"source": incident_id})
            hashes = {cid: meta["doc_hash"] for cid, meta in stored.items()}
            chunker = partial(chunk_text, body, incident_id, title)
            change = plan_document(incident_id, "incident", data, chunker, hashes, extra)
            self._write([change])

    def delete(self, source: str) -> int:
        """Remove a document or incident; returns how many chunks went."""
        with self._lock:
            ids = list(self._stored({"source": source}))
            if ids:
                self._collection.delete(ids=ids)
                self._changed(removed=ids)
            return len(ids)

    def reindex(self, directory: Path | None = None,
                progress: Progress | None = None) -> IngestReport:  # fmt: skip
        """Bring the runbooks in line with ``directory`` (the runbooks directory): new and
        changed files indexed, unchanged ones skipped, deleted ones' chunks removed. A file
        that cannot be read is reported in ``errors`` and keeps its previous chunks."""
        directory = Path(directory or self.runbooks_dir)
        if not directory.is_dir():
            raise VigilError(f"runbooks directory {directory} does not exist")
        files = _runbook_files(directory)
        with self._lock:
            by_source: dict[str, dict[str, dict[str, str]]] = {}
            for cid, meta in self._stored({"kind": "runbook"}).items():
                by_source.setdefault(meta["source"], {})[cid] = meta
            changes, errors = [], []
            for done, path in enumerate(files, start=1):
                source = path.relative_to(directory).as_posix()
                try:
                    changes.append(self._plan(source, "runbook", _read_bounded(path),
                                              by_source.pop(source, {})))  # fmt: skip
                except (VigilError, OSError) as exc:
                    by_source.pop(source, None)  # keeps its previous chunks
                    errors.append(f"{source}: {exc}")
                if progress is not None:
                    progress(done, len(files))
            report = self._write(changes)
            for source, stored in sorted(by_source.items()):  # files that are gone
                self._collection.delete(ids=list(stored))
                self._changed(removed=list(stored))
                report += IngestReport(removed=(source,), chunks_removed=len(stored))
        return report + IngestReport(errors=tuple(errors))

    @staticmethod
    def _plan(source: str, kind: str, data: bytes, stored: Mapping[str, Mapping[str, str]]
              ) -> Change:  # fmt: skip
        hashes = {cid: meta["doc_hash"] for cid, meta in stored.items()}
        return plan_document(source, kind, data, lambda: chunk_document(source, data), hashes)

    def _write(self, changes: list[Change]) -> IngestReport:
        report = apply_changes(self._collection, self._embed, changes,
                               self._client.get_max_batch_size())  # fmt: skip
        self._changed(changes=changes)
        return report

    def _changed(self, removed: Iterable[str] = (), changes: Iterable[Change] = ()) -> None:
        """Note what a write changed, for the next search to fold into its snapshot."""
        if self._snapshot is None:
            return  # the next search reads everything anyway
        for change in changes:
            removed = [*removed, *change.delete_ids]
            for cid, text, meta in zip(change.add_ids, change.add_texts, change.add_metas,
                                       strict=True):  # fmt: skip
                self._removed.discard(cid)
                self._upserts[cid] = (text, meta)
            for cid, meta in zip(change.keep_ids, change.keep_metas, strict=True):
                self._upserts[cid] = (self._upserts.get(cid, (None, meta))[0], meta)
        for cid in removed:
            self._upserts.pop(cid, None)
            self._removed.add(cid)

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        return list(self._embedding(texts)) if texts else []

    def _stored(self, where: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Chunk id to its kind, source and document hash, for the matching chunks."""
        got = self._collection.get(where=dict(where), include=["metadatas"])
        return {cid: {key: str(meta.get(key, "")) for key in ("kind", "source", "doc_hash")}
                for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)}  # fmt: skip

    # -- reading ---------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """One row per document or incident, by kind then source."""
        with self._lock:
            frame = self._current().frame
        if frame.empty:
            return []
        grouped = frame.groupby(["kind", "source"], sort=True)
        return [
            DocumentInfo(source, kind, len(rows), rows["language"].mode().iloc[0],
                         pd.Timestamp(rows["updated_at"].max()))
            for (kind, source), rows in grouped
        ]  # fmt: skip

    def passages(self, source: str) -> list[KnowledgeHit]:
        """One document's passages in reading order: what a citation's link opens."""
        with self._lock:
            snapshot = self._current()
            rows = snapshot.frame[snapshot.mask({"source": source})]
            if "position" in rows.columns:
                rows = rows.sort_values("position")
            return [self._hit(snapshot, chunk_id, 0.0) for chunk_id in rows.index]

    def search(self, query: str, k: int = 5, kind: str | None = None,
               language: str | None = None) -> list[KnowledgeHit]:  # fmt: skip
        """The ``k`` best chunks for ``query``, optionally of one kind and language."""
        where = {key: value for key, value in (("kind", kind), ("language", language)) if value}
        return self._search(query, k, where)

    def similar_incidents(self, text: str, k: int = 3,
                          service: str | None = None) -> list[KnowledgeHit]:  # fmt: skip
        """Past incidents most like ``text`` (an alert's summary, a symptom), one hit per
        incident; with ``service``, only incidents whose root cause was in that service."""
        where = {"kind": "incident", **({"service": service} if service else {})}
        hits = self._search(text, k * 3, where)
        best: dict[str, KnowledgeHit] = {}
        for hit in hits:
            best.setdefault(hit.source, hit)
        return list(best.values())[:k]

    def _search(self, query: str, k: int, where: Mapping[str, str]) -> list[KnowledgeHit]:
        if not query.strip() or k <= 0:
            return []
        with self._lock:
            snapshot = self._current()
            mask = snapshot.mask(where)
            if not mask.any():
                return []
            lexical = snapshot.lexical.top(query, _CANDIDATES, mask)
            vector = self._vector(query, min(_CANDIDATES, int(mask.sum())), where)
            fused = reciprocal_rank_fusion([lexical, vector])[:k]
            return [self._hit(snapshot, cid, score) for cid, score in fused]

    def _vector(self, query: str, n: int, where: Mapping[str, str]) -> list[str]:
        filters = [{key: value} for key, value in where.items()]
        clause = filters[0] if len(filters) == 1 else ({"$and": filters} if filters else None)
        found = self._collection.query(
            query_embeddings=self._embed([query]), n_results=n, where=clause, include=[]
        )
        return list(found["ids"][0])

    def _current(self) -> _Snapshot:
        if self._snapshot is not None and (self._removed or self._upserts):
            self._snapshot = self._snapshot.patched(self._removed, self._upserts, self._tokens)
            self._removed, self._upserts = set(), {}
        if self._snapshot is None:
            got = self._collection.get(include=["documents", "metadatas"])
            self._snapshot = _Snapshot(list(got["ids"]), list(got["documents"] or []),
                                       [dict(m) for m in got["metadatas"] or []],
                                       self._tokens)  # fmt: skip
        return self._snapshot

    @staticmethod
    def _hit(snapshot: _Snapshot, chunk_id: str, score: float) -> KnowledgeHit:
        meta = snapshot.frame.loc[chunk_id]
        kind, source = str(meta["kind"]), str(meta["source"])
        if kind == "incident":
            link = incident_link(source)
            extra = {key: str(meta[key]) for key in _INCIDENT_KEYS if key in meta.index}
        else:
            link = f"/knowledge?doc={quote(source, safe='')}#{quote(str(meta['anchor']))}"
            extra = {}
        return KnowledgeHit(chunk_id, snapshot.texts[chunk_id], source, str(meta["section"]),
                            link, kind, round(float(score), 6), str(meta["language"]),
                            extra)  # fmt: skip
