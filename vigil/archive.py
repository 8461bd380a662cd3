"""The backup archive format: a gzip-compressed tar with its manifest first.

Why tar.gz and not zip: Python writes and reads it as a stream (no seeking), so a backup
is checked and unpacked in one pass, and every Unix machine can open it by hand
(``tar xzf``). Layout::

    manifest.json        format, versions, created_at, per-file size and SHA-256, row counts
    vigil.duckdb         a consistent copy of the database
    chroma/...           the knowledge base, rebuilt as a fresh Chroma persistent dir
    models/...           fitted detector artifacts
    runbooks/...         the runbooks the knowledge base indexes, when they live in the data dir
    settings.json        the effective settings, secrets reduced to "set" / "unset"

Only regular files are stored. Reading trusts nothing: the manifest must come first and
say it is ours in a format version this Vigil knows, every member name must be a plain
relative path (no absolute path, no ``..``, no link or device), every member must be
listed with its size and checksum, and every listed file must be present. An archive that
fails any check is refused with one line, and what was unpacked so far is deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vigil.errors import VigilError

FORMAT = "vigil-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUFFIX = ".tar.gz"
MAX_MANIFEST_BYTES = 16 * 2**20
_CHUNK = 2**20


class ArchiveError(VigilError):
    """A backup archive is corrupt, foreign or unsafe; nothing was restored from it."""


@dataclass(frozen=True)
class Manifest:
    """What an archive says about itself; ``files`` maps member name to size and sha256."""

    format_version: int
    vigil_version: str
    schema_version: int
    created_at: str
    data_dir: str
    files: dict[str, dict[str, Any]]
    tables: dict[str, int]
    knowledge: dict[str, int]

    def to_json(self) -> bytes:
        body = {"format": FORMAT, "format_version": self.format_version,
                "vigil_version": self.vigil_version, "schema_version": self.schema_version,
                "created_at": self.created_at, "data_dir": self.data_dir,
                "files": self.files, "tables": self.tables,
                "knowledge": self.knowledge}  # fmt: skip
        return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def staged_files(staging: Path) -> dict[str, dict[str, Any]]:
    """Size and checksum of every regular file under ``staging``, by member name."""
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink()):
        name = path.relative_to(staging).as_posix()
        files[name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    return files


def write_archive(staging: Path, manifest: Manifest, out: Path) -> int:
    """Pack ``staging`` (whose files the manifest lists) into ``out``; returns its size.

    The archive is written under a hidden temporary name beside ``out``, synced, and
    renamed over it, so a crash never leaves a half archive under the final name.
    """
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        # level 1: DuckDB pages are compressed already; 6 takes twice as long for 4 % less
        with tarfile.open(partial, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, MANIFEST, manifest.to_json())
            for name in manifest.files:
                info = tarfile.TarInfo(name)
                info.size = (staging / name).stat().st_size
                info.mode = 0o600
                info.mtime = int((staging / name).stat().st_mtime)
                with open(staging / name, "rb") as handle:
                    tar.addfile(info, handle)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io
    import time

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def safe_member_name(name: str) -> PurePosixPath:
    """The member's relative path, or :class:`ArchiveError` if it could escape the target."""
    path = PurePosixPath(name)
    if (not name or name.startswith("/") or "\\" in name or path.is_absolute()
            or any(part in ("..", "") for part in name.split("/"))
            or (len(name) > 1 and name[1] == ":")):  # fmt: skip
        raise ArchiveError(f"unsafe member name {name!r}; refusing the archive")
    return path


def _parse_manifest(archive: Path, data: bytes) -> Manifest:
    try:
        body = json.loads(data)
    except ValueError:
        raise ArchiveError(f"{archive} is not a Vigil backup (its manifest is not JSON)") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ArchiveError(f"{archive} is not a Vigil backup (its manifest is someone else's)")
    version = body.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArchiveError(f"{archive} is not a Vigil backup (no format version)")
    if version > FORMAT_VERSION:
        raise ArchiveError(f"{archive} is in backup format {version}, newer than this Vigil's "
                           f"{FORMAT_VERSION}; restore it with a newer Vigil")  # fmt: skip
    try:
        files = {str(k): {"size": int(v["size"]), "sha256": str(v["sha256"])}
                 for k, v in body["files"].items()}  # fmt: skip
        return Manifest(version, str(body["vigil_version"]), int(body["schema_version"]),
                        str(body["created_at"]), str(body["data_dir"]), files,
                        {str(k): int(v) for k, v in body.get("tables", {}).items()},
                        {str(k): int(v) for k, v in body.get("knowledge", {}).items()})  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ArchiveError(f"{archive} has a damaged manifest; it cannot be restored") from None


def unpack_archive(archive: Path, target: Path) -> Manifest:
    """Check ``archive`` and unpack it into the empty directory ``target``.

    Raises :class:`ArchiveError` on the first problem; the caller deletes ``target``.
    """
    if not archive.is_file():
        raise ArchiveError(f"backup {archive} does not exist or is not a file")
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 - closed below, errors told apart
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is not a Vigil backup (not a readable .tar.gz: "
                           f"{_reason(exc)})") from None  # fmt: skip
    try:
        with tar:
            return _unpack_members(archive, tar, target)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is corrupt or truncated ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _unpack_members(archive: Path, tar: tarfile.TarFile, target: Path) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isreg():
        raise ArchiveError(f"{archive} is not a Vigil backup (no manifest.json first)")
    if first.size > MAX_MANIFEST_BYTES:
        raise ArchiveError(f"{archive} has an oversized manifest; refusing it")
    manifest = _parse_manifest(archive, tar.extractfile(first).read())  # type: ignore[union-attr]
    for name in manifest.files:
        safe_member_name(name)
    _check_space(archive, manifest, target)
    seen: set[str] = set()
    while (member := tar.next()) is not None:
        if member.isdir():
            safe_member_name(member.name.rstrip("/"))
            continue
        if not member.isreg():
            raise ArchiveError(f"{archive} holds {member.name!r}, which is a link or special "
                               "file; refusing the archive")  # fmt: skip
        relative = safe_member_name(member.name)
        expected = manifest.files.get(member.name)
        if expected is None or member.name in seen:
            raise ArchiveError(f"{archive} holds {member.name!r}, which its manifest does not "
                               "list; refusing the archive")  # fmt: skip
        _extract_checked(archive, tar, member, target / relative, expected)
        seen.add(member.name)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise ArchiveError(
            f"{archive} is incomplete: {missing[0]} is missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    return manifest


def _check_space(archive: Path, manifest: Manifest, target: Path) -> None:
    """Refuse, from the manifest's sizes alone and before anything is written, an archive
    that cannot fit: a small gzip of zeros can claim gigabytes."""
    sizes = [int(f["size"]) for f in manifest.files.values()]
    if any(size < 0 for size in sizes):
        raise ArchiveError(f"{archive} has a damaged manifest; it cannot be restored")
    needed, free = sum(sizes), shutil.disk_usage(target).free
    if needed > free:
        raise ArchiveError(f"{archive} unpacks to {needed / 2**30:.1f} GiB, more than the "
                           f"{free / 2**30:.1f} GiB free beside {target.parent}; free space "
                           "or restore elsewhere")  # fmt: skip


def _extract_checked(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo,
                     dest: Path, expected: dict[str, Any]) -> None:  # fmt: skip
    if member.size != expected["size"]:
        raise ArchiveError(f"{archive}: {member.name} has {member.size} bytes, its manifest "
                           f"says {expected['size']}; the archive is damaged")  # fmt: skip
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    source = tar.extractfile(member)
    assert source is not None  # a regular member always has a file object
    with open(dest, "wb") as out:
        while block := source.read(_CHUNK):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != expected["sha256"]:
        raise ArchiveError(f"{archive}: {member.name} does not match its checksum; "
                           "the archive is damaged")  # fmt: skip
