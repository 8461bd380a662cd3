"""Restoring a backup into a data dir, all or nothing.

Everything is checked before the target changes: the archive is unpacked into a hidden
staging dir beside the target while every member's size and checksum is verified
(:mod:`vigil.archive`), the staged database's row counts are compared with the
manifest's, and the staged database is opened the normal way, which migrates an older
schema. Only then are the pieces moved in. The target's lock is held throughout, so an
engine cannot start on a half-restored dir, and a dir an engine holds is refused.

A target that already holds a database is refused unless ``force``; with it, what the
archive would replace is moved aside into ``replaced-<UTC time>/`` in the target, never
deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from vigil.archive import ArchiveError, Manifest, unpack_archive
from vigil.backup import DATABASE
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.lock import DataDirLock
from vigil.store import LATEST_VERSION, Store


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put where, and where the replaced pieces went (if any)."""

    data_dir: Path
    manifest: Manifest
    schema_version: int
    moved_aside: Path | None


def restore_backup(archive: Path, data_dir: Path, *, force: bool = False) -> RestoreResult:
    """Restore ``archive`` into ``data_dir``; :class:`VigilError` (one line) and nothing
    changed when the archive or the target is not fit."""
    archive, data_dir = Path(archive).resolve(), Path(data_dir).resolve()
    if (data_dir / DATABASE).exists() and not force:
        raise VigilError(f"{data_dir} already holds a database; restore into an empty "
                         "data dir, or pass --force to move the current one aside")  # fmt: skip
    lock = _hold(data_dir) if data_dir.exists() else None
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=data_dir.parent))
        try:
            manifest = unpack_archive(archive, staging)
            schema = _prepare_database(archive, staging, manifest, data_dir)
            if lock is None:
                lock = _hold(data_dir)
            aside = _move_in(staging, data_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if lock is not None:
            lock.release()
    return RestoreResult(data_dir, manifest, schema, aside)


def _hold(data_dir: Path) -> DataDirLock:
    """The target's lock; raises the usual one-line error when an engine holds it."""
    lock = DataDirLock(data_dir / "vigil.lock")
    lock.acquire()
    return lock


def _prepare_database(archive: Path, staging: Path, manifest: Manifest, data_dir: Path) -> int:
    """Row counts as the manifest says, then the normal open (which migrates), and model
    artifacts found where they now are; returns the schema version."""
    if not (staging / DATABASE).is_file():
        raise ArchiveError(f"{archive} holds no database; it cannot be restored")
    if manifest.schema_version > LATEST_VERSION:
        raise ArchiveError(f"{archive} holds schema version {manifest.schema_version}, newer "
                           f"than this Vigil's {LATEST_VERSION}; restore it with a newer "
                           "Vigil")  # fmt: skip
    try:
        with duckdb.connect(str(staging / DATABASE), read_only=True) as conn:
            for table, rows in manifest.tables.items():
                found = conn.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
                if found != rows:
                    raise ArchiveError(f"{archive}: table {table} has {found} rows, its "
                                       f"manifest says {rows}; the archive is damaged")  # fmt: skip
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ArchiveError(f"{archive}: its database cannot be read ({first})") from None
    store = Store.open(staging)
    try:
        _rebase_artifacts(store, data_dir / "models")
        return store.schema_version()
    finally:
        store.close()
        (staging / "vigil.lock").unlink(missing_ok=True)


def _rebase_artifacts(store: Store, models_dir: Path) -> None:
    """Artifact paths name the models dir they were written in, as
    ``<models>/<series>/<id>.bin``; point them at the restored one."""
    store.execute(
        "UPDATE models SET artifact_path = ? || regexp_extract(artifact_path, "
        "'([^/\\\\]+[/\\\\][^/\\\\]+)$', 1) WHERE artifact_path IS NOT NULL",
        [f"{models_dir}{os.sep}"],
    )


def _move_in(staging: Path, data_dir: Path) -> Path | None:
    """Move the staged pieces into ``data_dir``; what they replace goes aside first."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pieces = sorted(p for p in staging.iterdir() if p.name != "vigil.lock")
    clashes = [p.name for p in pieces if (data_dir / p.name).exists()]
    clashes += [f"{DATABASE}.wal"] if (data_dir / f"{DATABASE}.wal").exists() else []
    aside = None
    if clashes:
        aside = data_dir / f"replaced-{utc_now():%Y%m%dT%H%M%SZ}"
        aside.mkdir()
        for name in clashes:
            os.replace(data_dir / name, aside / name)
    for piece in pieces:  # a move, not a rename: the target may be another mount
        shutil.move(piece, data_dir / piece.name)
    return aside
