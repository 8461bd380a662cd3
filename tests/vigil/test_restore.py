"""Restore refuses what it cannot trust and changes nothing; what it accepts opens as a
data dir, migrated when it came from an older schema."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_vigil
from tests.ui.conftest import make_seeded
from vigil.archive import MANIFEST
from vigil.backup import take_backup
from vigil.errors import DataDirLockedError, VigilError
from vigil.restore import restore_backup
from vigil.settings import load_settings
from vigil.store import LATEST_VERSION, Store


def _backup(data_dir: Path, out: Path) -> Path:
    store = Store.open(data_dir)
    try:
        take_backup(store, load_settings(data_dir=data_dir), out)
    finally:
        store.close()
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the small known estate, with one model artifact beside it."""
    root = tmp_path_factory.mktemp("good")
    seeded = make_seeded(root / "data", pd.Timedelta(seconds=30))
    (seeded.data_dir / "models" / "1").mkdir(parents=True)
    (seeded.data_dir / "models" / "1" / "7.bin").write_bytes(b"model bytes " * 50)
    return _backup(seeded.data_dir, root / "good.tar.gz")


def _members(path: Path) -> tuple[dict, dict[str, bytes]]:
    with tarfile.open(path, "r:gz") as tar:
        data = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}
    return json.loads(data.pop(MANIFEST)), data


def _pack(path: Path, manifest: dict | None, files: dict[str, bytes],
          extra: Callable[[tarfile.TarFile], None] | None = None) -> Path:  # fmt: skip
    with tarfile.open(path, "w:gz") as tar:
        items = [(MANIFEST, json.dumps(manifest).encode())] if manifest is not None else []
        for name, data in [*items, *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra is not None:
            extra(tar)
    return path


def _listed(files: dict[str, bytes]) -> dict[str, dict]:
    return {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its checksum: 'nothing changed' made checkable. The
    lock file is left out: taking the lock records who holds it, and that is not data."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "vigil.lock"}  # fmt: skip


def _refused(archive: Path, target: Path, match: str, **kwargs: bool) -> None:
    before = _tree(target.parent)
    with pytest.raises(VigilError, match=match) as caught:
        restore_backup(archive, target, **kwargs)
    assert "\n" not in str(caught.value)
    assert _tree(target.parent) == before
    assert not [p for p in target.parent.iterdir() if ".restore-" in p.name]


def test_a_good_archive_restores_rows_and_artifacts(archive: Path, tmp_path: Path) -> None:
    manifest, files = _members(archive)
    result = restore_backup(archive, tmp_path / "restored")
    store = Store.open(tmp_path / "restored")
    try:
        for table, rows in manifest["tables"].items():
            assert store.one(f'SELECT count(*) FROM "{table}"') == rows, table
        assert manifest["tables"]["samples"] == 4 * 120
    finally:
        store.close()
    assert (tmp_path / "restored" / "models" / "1" / "7.bin").read_bytes() == files[
        "models/1/7.bin"
    ]
    assert result.schema_version == LATEST_VERSION and result.moved_aside is None


def test_a_truncated_archive_is_refused(archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    _refused(cut, tmp_path / "target", "corrupt or truncated")


def test_a_flipped_byte_in_the_compressed_stream_is_refused(archive: Path, tmp_path: Path) -> None:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x40
    flipped = tmp_path / "flipped.tar.gz"
    flipped.write_bytes(bytes(data))
    _refused(flipped, tmp_path / "target", "corrupt|damaged|checksum")


def test_a_member_that_differs_from_its_checksum_is_refused(archive: Path,
                                                            tmp_path: Path) -> None:  # fmt: skip
    manifest, files = _members(archive)
    body = bytearray(files["vigil.duckdb"])
    body[len(body) // 3] ^= 0x01
    files["vigil.duckdb"] = bytes(body)
    bad = _pack(tmp_path / "bad.tar.gz", manifest, files)
    _refused(bad, tmp_path / "target", "vigil.duckdb does not match its checksum")


def test_a_missing_file_is_refused(archive: Path, tmp_path: Path) -> None:
    manifest, files = _members(archive)
    del files["settings.json"]
    _refused(_pack(tmp_path / "short.tar.gz", manifest, files), tmp_path / "target",
             "incomplete: settings.json is missing")  # fmt: skip


def test_an_unlisted_file_is_refused(archive: Path, tmp_path: Path) -> None:
    manifest, files = _members(archive)
    files["models/1/extra.bin"] = b"smuggled"
    _refused(_pack(tmp_path / "extra.tar.gz", manifest, files), tmp_path / "target",
             "does not list")  # fmt: skip


@pytest.mark.parametrize("content", [b"just some text\n", b"\x1f\x8b garbage"])
def test_a_file_that_is_not_an_archive_is_refused(content: bytes, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.tar.gz"
    foreign.write_bytes(content)
    _refused(foreign, tmp_path / "target", "not a Vigil backup|corrupt")


def test_someone_elses_tar_is_refused(tmp_path: Path) -> None:
    other = _pack(tmp_path / "other.tar.gz", None, {"etc/hosts": b"127.0.0.1 localhost\n"})
    _refused(other, tmp_path / "target", "not a Vigil backup")
    foreign_manifest = {"format": "something-else", "format_version": 1}
    other = _pack(tmp_path / "other2.tar.gz", foreign_manifest, {})
    _refused(other, tmp_path / "target", "not a Vigil backup")


def test_a_newer_format_version_is_refused(archive: Path, tmp_path: Path) -> None:
    manifest, files = _members(archive)
    manifest["format_version"] = 99
    _refused(_pack(tmp_path / "new.tar.gz", manifest, files), tmp_path / "target",
             "format 99, newer than this Vigil's 1")  # fmt: skip


def test_a_newer_schema_is_refused(archive: Path, tmp_path: Path) -> None:
    manifest, files = _members(archive)
    manifest["schema_version"] = LATEST_VERSION + 1
    _refused(_pack(tmp_path / "new.tar.gz", manifest, files), tmp_path / "target",
             f"schema version {LATEST_VERSION + 1}, newer")  # fmt: skip


@pytest.mark.parametrize("name", ["../escaped.txt", "/tmp/absolute.txt", "models/../../up.txt",
                                  "C:/windows.txt"])  # fmt: skip
def test_member_names_that_escape_the_target_are_refused(archive: Path, tmp_path: Path,
                                                         name: str) -> None:  # fmt: skip
    manifest, files = _members(archive)
    files[name] = b"escaped"
    manifest["files"] = _listed(files)
    evil = _pack(tmp_path / "evil.tar.gz", manifest, files)
    _refused(evil, tmp_path / "deep" / "target", "unsafe member name")
    assert not list(tmp_path.rglob("escaped.txt")) and not list(tmp_path.rglob("up.txt"))
    assert not Path("/tmp/absolute.txt").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_in_an_archive_are_refused(archive: Path, tmp_path: Path, kind: bytes) -> None:
    manifest, files = _members(archive)

    def link(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("models/1/link.bin")
        info.type, info.linkname = kind, "/etc/passwd"
        tar.addfile(info)

    _refused(_pack(tmp_path / "link.tar.gz", manifest, files, link), tmp_path / "target",
             "link or special file")  # fmt: skip


def test_a_data_dir_with_a_database_is_refused_unless_forced(archive: Path,
                                                             tmp_path: Path) -> None:  # fmt: skip
    target = make_seeded(tmp_path / "data", pd.Timedelta(hours=1)).data_dir
    old = hashlib.sha256((target / "vigil.duckdb").read_bytes()).hexdigest()
    _refused(archive, target, "already holds a database")
    result = restore_backup(archive, target, force=True)
    assert result.moved_aside is not None and result.moved_aside.parent == target
    aside = hashlib.sha256((result.moved_aside / "vigil.duckdb").read_bytes()).hexdigest()
    assert aside == old
    store = Store.open(target)
    try:
        assert store.one("SELECT count(*) FROM samples") == 4 * 120
    finally:
        store.close()


def test_a_data_dir_held_by_an_engine_is_refused(archive: Path, tmp_path: Path) -> None:
    holder = Store.open(tmp_path / "held")
    try:
        before = _tree(tmp_path)
        with pytest.raises(DataDirLockedError, match="in use by"):
            restore_backup(archive, tmp_path / "held", force=True)
        assert _tree(tmp_path) == before
    finally:
        holder.close()


def test_an_older_schema_is_migrated_on_restore(tmp_path: Path) -> None:
    old = Store.open(tmp_path / "old", migrate_to=LATEST_VERSION - 2)  # as an older Vigil
    try:
        take_backup(old, load_settings(data_dir=tmp_path / "old"), tmp_path / "old.tar.gz")
    finally:
        old.close()
    manifest, _ = _members(tmp_path / "old.tar.gz")
    assert manifest["schema_version"] == LATEST_VERSION - 2
    result = restore_backup(tmp_path / "old.tar.gz", tmp_path / "new")
    assert result.schema_version == LATEST_VERSION
    store = Store.open_read_only(tmp_path / "new")
    try:
        assert store.schema_version() == LATEST_VERSION
    finally:
        store.close()


def test_the_cli_refuses_a_damaged_archive_in_one_line(archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[:-200])
    done = run_vigil(tmp_path / "target", "restore", str(cut))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("vigil: ") and "Traceback" not in done.stderr
    assert "corrupt or truncated" in done.stderr
    assert not (tmp_path / "target").exists()
    done = run_vigil(tmp_path / "target", "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "vigil.duckdb").is_file()
