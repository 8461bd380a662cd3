"""Taking a backup: a consistent copy of a data dir in one archive (see :mod:`vigil.archive`).

The database is copied with ``ATTACH`` of a new file and ``COPY FROM DATABASE`` inside
one transaction on the store's own connection. The engine's jobs write from several
threads, each in its own ``Store.transaction``; DuckDB gives every transaction a snapshot
(MVCC), so the copy sees exactly the commits made before it began and none made while it
runs, without stopping a writer. Copying the file after a ``CHECKPOINT`` would need every
writer stopped (the store has no global write lock to hold), and ``EXPORT DATABASE``
restores through a schema script that bypasses our migrations. The table row counts for
the manifest are read in the same transaction, so they describe the copy exactly.

The knowledge base is rebuilt, not copied: every record of every Chroma collection
(ids, embeddings, documents, metadata) is read and written into a fresh persistent client
in the archive, while the knowledge base's writers are held off (the engine passes its
lock). Chroma's directory holds an SQLite file and HNSW segments flushed on their own
schedule, so a byte copy of a live one may not open; a rebuilt one is complete by
construction, and its embeddings are stored as they were, so nothing is re-embedded.

Model artifacts are copied after the database: a refit writes its artifacts before it
commits the rows naming them, so every model the copied database names is already there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import vigil
from vigil.archive import SUFFIX, Manifest, staged_files, write_archive
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.redaction import redacted_settings
from vigil.settings import Settings
from vigil.store import Store

KnowledgeCopier = Callable[[Path], dict[str, int]]
"""Writes the knowledge base into a new Chroma dir; returns records per collection."""

DATABASE = "vigil.duckdb"
STAGING_PREFIX = ".vigil-backup-"  # then the pid: a dead writer's scratch is recognisable
_BATCH = 500  # Chroma records read and written per call
_TAKING = threading.Lock()  # the scheduled job and an asked-for backup take turns


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote: where, how big, and what it holds."""

    path: Path
    bytes: int
    files: int
    tables: dict[str, int]
    knowledge: dict[str, int]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "bytes": self.bytes, "files": self.files,
                "tables": self.tables, "knowledge": self.knowledge}  # fmt: skip


def check_out_path(out: Path) -> Path:
    """The archive path, absolute; one line when it cannot be written there."""
    out = Path(out).expanduser().resolve()
    if not out.name.endswith(SUFFIX):
        raise VigilError(f"backup file {out} must end in {SUFFIX}")
    if not out.parent.is_dir():
        raise VigilError(f"directory {out.parent} does not exist; create it first")
    if out.is_dir():
        raise VigilError(f"{out} is a directory; name the archive file")
    return out


def take_backup(store: Store, settings: Settings, out: Path,
                knowledge: KnowledgeCopier | None = None) -> BackupResult:  # fmt: skip
    """Write a backup of ``store``'s data dir to ``out`` (replacing it atomically).

    ``knowledge`` copies the knowledge base (the engine passes one that holds its lock);
    by default the Chroma dir is read with a client of our own, which is right only when
    nothing else has it open, i.e. when this process holds the data dir.
    """
    out = check_out_path(out)
    with _TAKING, _staging(out.parent) as staging:
        tables = copy_database(store, staging / DATABASE)
        copier = knowledge or (lambda target: copy_knowledge_dir(settings.chroma_dir, target))
        counts = copier(staging / "chroma") if settings.chroma_dir.is_dir() else {}
        _copy_tree(settings.models_dir, staging / "models")
        runbooks = settings.runbooks_path
        if _inside(runbooks, settings.data_dir):
            _copy_tree(runbooks, staging / runbooks.resolve().relative_to(
                settings.data_dir.resolve()))  # fmt: skip
        text = json.dumps(redacted_settings(settings), indent=2, sort_keys=True,
                          ensure_ascii=False)  # fmt: skip
        (staging / "settings.json").write_text(text + "\n", encoding="utf-8")
        manifest = Manifest(
            format_version=1, vigil_version=vigil.__version__,
            schema_version=store.schema_version(),
            created_at=utc_now().isoformat().replace("+00:00", "") + "Z",
            data_dir=settings.data_dir.resolve().name, files=staged_files(staging),
            tables=tables, knowledge=counts,
        )  # fmt: skip
        size = write_archive(staging, manifest, out)
    return BackupResult(out, size, len(manifest.files), tables, counts)


@contextmanager
def _staging(parent: Path) -> Iterator[Path]:
    """A hidden scratch dir beside the archive (same disk, so no surprise about space)."""
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_database(store: Store, target: Path) -> dict[str, int]:
    """Copy every table into a new DuckDB file ``target`` as of one moment; row counts."""
    alias = f"vigil_backup_{threading.get_ident()}"
    cur = store.cursor
    source = cur.execute("SELECT current_database()").fetchall()[0][0]
    cur.execute(f"ATTACH {_quote(str(target))} AS {alias}")
    try:
        with store.transaction() as tx:
            tx.execute(f"COPY FROM DATABASE {source} TO {alias}")
            names = [r[0] for r in tx.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                "ORDER BY table_name", [source]).fetchall()]  # fmt: skip
            counts = {n: int(tx.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0])
                      for n in names}  # fmt: skip
    finally:
        cur.execute(f"DETACH {alias}")
    return counts


def copy_collections(client: object, target: Path) -> dict[str, int]:
    """Every record of every collection of Chroma ``client`` into a new Chroma dir
    ``target``, embeddings included; returns records per collection."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    import knowledge.embedding  # noqa: F401 - registers the embeddings collections name

    fresh = chromadb.PersistentClient(path=str(target), settings=ChromaSettings(
        anonymized_telemetry=False, allow_reset=False))  # fmt: skip
    counts = {}
    try:
        for source in client.list_collections():  # type: ignore[attr-defined]
            copy = fresh.create_collection(source.name, metadata=source.metadata,
                                           configuration=source.configuration)  # fmt: skip
            total = source.count()
            for offset in range(0, total, _BATCH):
                got = source.get(limit=_BATCH, offset=offset,
                                 include=["embeddings", "documents", "metadatas"])  # fmt: skip
                if got["ids"]:
                    copy.add(ids=got["ids"], embeddings=got["embeddings"],
                             documents=got["documents"], metadatas=got["metadatas"])  # fmt: skip
            counts[source.name] = copy.count()
            if counts[source.name] != total:
                raise VigilError(f"knowledge collection {source.name} changed while it was "
                                 "backed up; try again")  # fmt: skip
    finally:
        fresh.close()
    return counts


def copy_knowledge_dir(chroma_dir: Path, target: Path) -> dict[str, int]:
    """The knowledge base of a data dir this process holds, read with its own client."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(
        anonymized_telemetry=False, allow_reset=False))  # fmt: skip
    try:
        return copy_collections(client, target)
    finally:
        client.close()


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return path.is_dir()


def _copy_tree(source: Path, target: Path) -> None:
    """Regular files only, hidden scratch files (``.tmp``, ``.partial``) left out."""
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink() or not path.is_file() or any(
                p.startswith(".") for p in relative.parts):  # fmt: skip
            continue
        dest = target / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
