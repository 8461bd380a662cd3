"""Hostile backup archives: members named to escape the target (``../x``, absolute paths,
Windows drives), links and devices, and a small gzip whose member claims more bytes than
the disk holds. Restore refuses each in one line before the target changes, writes
nothing outside its staging dir, and leaves no staging dir behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_vigil
from tests.hostile.conftest import assert_cli_refused, assert_one_line, vigil_in_process
from vigil.archive import FORMAT, FORMAT_VERSION, MANIFEST
from vigil.errors import VigilError
from vigil.restore import restore_backup

PAYLOAD = b"not really a database"


def _manifest(files: dict[str, bytes | int]) -> dict:
    listed = {name: {"size": data, "sha256": "0" * 64} if isinstance(data, int)
              else {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
              for name, data in files.items()}  # fmt: skip
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "vigil_version": "0",
            "schema_version": 1, "created_at": "2026-01-01T00:00:00Z", "data_dir": "/elsewhere",
            "files": listed, "tables": {}, "knowledge": {}}  # fmt: skip


def _pack(path: Path, manifest: dict, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _link(name: str, kind: bytes, target: str = "/etc/passwd") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _escaping(name: str) -> Callable[[Path], Path]:
    """An archive whose manifest and member both name ``name``."""
    return lambda p: _pack(p, _manifest({name: PAYLOAD}), [(name, PAYLOAD)])


def _unlisted(name: str) -> Callable[[Path], Path]:
    """A clean manifest, then a member named ``name`` it does not list."""
    return lambda p: _pack(p, _manifest({"vigil.duckdb": PAYLOAD}),
                           [(name, PAYLOAD), ("vigil.duckdb", PAYLOAD)])  # fmt: skip


def _with_member(member: tarfile.TarInfo) -> Callable[[Path], Path]:
    return lambda p: _pack(p, _manifest({"vigil.duckdb": PAYLOAD}), [member])


ARCHIVES = {
    "dotdot in manifest": (_escaping("../x"), "unsafe member name"),
    "nested dotdot": (_escaping("models/../../x"), "unsafe member name"),
    "absolute in manifest": (_escaping("/tmp/hostile-x"), "unsafe member name"),
    "windows drive": (_escaping("C:/x"), "unsafe member name"),
    "backslashes": (_escaping("..\\..\\x"), "unsafe member name"),
    "dotdot member": (_unlisted("../x"), "unsafe member name"),
    "absolute member": (_unlisted("/tmp/hostile-x"), "unsafe member name"),
    "symlink": (_with_member(_link("vigil.duckdb", tarfile.SYMTYPE)), "link or special"),
    "symlink dir": (_with_member(_link("models", tarfile.SYMTYPE, "/")), "link or special"),
    "hard link": (_with_member(_link("vigil.duckdb", tarfile.LNKTYPE)), "link or special"),
    "device": (_with_member(_link("vigil.duckdb", tarfile.CHRTYPE, "")), "link or special"),
    "fifo": (_with_member(_link("vigil.duckdb", tarfile.FIFOTYPE, "")), "link or special"),
}


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "vigil.lock"}  # fmt: skip


def _assert_refused(archive: Path, target: Path, words: str) -> None:
    root = target.parent
    before = _tree(root)
    with pytest.raises(VigilError, match=words) as refused:
        restore_backup(archive, target)
    assert_one_line(str(refused.value))
    assert _tree(root) == before
    assert not [p for p in root.iterdir() if ".restore-" in p.name]  # staging removed


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_restore_refuses_an_escaping_or_linking_member(tmp_path: Path, case: str) -> None:
    build, words = ARCHIVES[case]
    archive = build(tmp_path / "hostile.tar.gz")
    (tmp_path / "root").mkdir()
    _assert_refused(archive, tmp_path / "root" / "data", words)
    assert not (tmp_path / "x").exists() and not (tmp_path / "root" / "x").exists()
    assert not Path("/tmp/hostile-x").exists()


def _gzip_bomb(path: Path, claimed: int, written: int = 8 * 2**20) -> Path:
    """A member whose header (and manifest) claim ``claimed`` bytes, of which only
    ``written`` zeros follow: megabytes on disk that say they inflate to gigabytes."""
    manifest = json.dumps(_manifest({"vigil.duckdb": claimed})).encode()
    head = tarfile.TarInfo(MANIFEST)
    head.size = len(manifest)
    member = tarfile.TarInfo("vigil.duckdb")
    member.size = claimed
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head.tobuf(tarfile.PAX_FORMAT))
        out.write(manifest + b"\0" * (-len(manifest) % tarfile.BLOCKSIZE))
        out.write(member.tobuf(tarfile.PAX_FORMAT))
        zeros = b"\0" * 2**20
        for _ in range(written // len(zeros)):
            out.write(zeros)
    return path


def test_restore_refuses_a_bomb_from_the_manifest_before_writing(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    claimed = shutil.disk_usage(tmp_path).free + 2**30
    archive = _gzip_bomb(tmp_path / "bomb.tar.gz", claimed)
    assert archive.stat().st_size < 2**20
    _assert_refused(archive, tmp_path / "root" / "data", "GiB free")


def test_vigil_restore_refuses_hostile_archives_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "root" / "data"
    target.parent.mkdir()
    symlink = ARCHIVES["symlink"][0](tmp_path / "symlink.tar.gz")
    escape = ARCHIVES["dotdot member"][0](tmp_path / "escape.tar.gz")
    bomb = _gzip_bomb(tmp_path / "bomb.tar.gz", shutil.disk_usage(tmp_path).free + 2**30)
    before = _tree(target.parent)
    assert_cli_refused(vigil_in_process(monkeypatch, target, "restore", str(symlink)), "link")
    assert_cli_refused(vigil_in_process(monkeypatch, target, "restore", str(escape)), "unsafe")
    assert_cli_refused(run_vigil(target, "restore", str(bomb)), "free")
    assert _tree(target.parent) == before
    assert not (tmp_path / "x").exists()
