"""A backup is one moment of the database even while writers commit, carries its
sequences on, and a backup that fails leaves nothing under its name."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_vigil
from tests.ui.conftest import make_seeded
from vigil.backup import take_backup
from vigil.restore import restore_backup
from vigil.settings import load_settings
from vigil.store import Store

ROWS = 200  # samples each writer transaction adds, with one audit row that says so


def _write_pairs(store: Store, stop: threading.Event, done: list[int]) -> None:
    """Transactions that each add ROWS samples of series 999 and one audit row."""
    n = 0
    while not stop.is_set():
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO samples SELECT 999, TIMESTAMP '2026-01-01' + to_seconds(?::BIGINT "
                "* ? + i), i FROM range(?) t(i)", [n, ROWS, ROWS])  # fmt: skip
            tx.execute("INSERT INTO audit_log (actor, action, target) VALUES ('test', 'pair', ?)",
                       [str(n)])  # fmt: skip
        n += 1
    done.append(n)


def test_a_backup_taken_while_writers_commit_holds_whole_transactions(tmp_path: Path) -> None:
    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    store = Store.open(data_dir)
    stop, done = threading.Event(), []
    writers = [threading.Thread(target=_write_pairs, args=(store, stop, done)) for _ in range(2)]
    try:
        for w in writers:
            w.start()
        while store.one("SELECT count(*) FROM audit_log WHERE action = 'pair'") < 20:
            time.sleep(0.01)
        result = take_backup(store, load_settings(data_dir=data_dir), tmp_path / "b.tar.gz")
    finally:
        stop.set()
        for w in writers:
            w.join()
        total = store.one("SELECT count(*) FROM audit_log WHERE action = 'pair'")
        store.close()
    restore_backup(result.path, tmp_path / "restored")
    restored = Store.open(tmp_path / "restored")
    try:
        pairs = restored.one("SELECT count(*) FROM audit_log WHERE action = 'pair'")
        samples = restored.one("SELECT count(*) FROM samples WHERE series_id = 999")
        assert samples == ROWS * pairs and pairs == result.tables["audit_log"]
        assert 20 <= pairs < total  # writers went on committing after the copy's moment
        top = restored.one("SELECT max(audit_id) FROM audit_log")
        assert restored.one("SELECT nextval('audit_id_seq')") > top
    finally:
        restored.close()


def test_a_failed_backup_leaves_no_file_behind(tmp_path: Path) -> None:
    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    (data_dir / "chroma").mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "b.tar.gz").write_bytes(b"the previous backup")

    def broken(target: Path) -> dict[str, int]:
        raise OSError("disk full")

    store = Store.open(data_dir)
    try:
        with pytest.raises(OSError, match="disk full"):
            take_backup(store, load_settings(data_dir=data_dir), out_dir / "b.tar.gz", broken)
        assert store.one("SELECT count(*) FROM duckdb_databases() WHERE NOT internal") == 1
    finally:
        store.close()
    assert [p.name for p in out_dir.iterdir()] == ["b.tar.gz"]
    assert (out_dir / "b.tar.gz").read_bytes() == b"the previous backup"


def test_the_cli_backs_up_a_data_dir_no_engine_holds(tmp_path: Path) -> None:
    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    done = run_vigil(data_dir, "backup", "--out", str(tmp_path / "b.tar.gz"))
    assert done.returncode == 0, done.stderr
    assert "backup written to" in done.stdout
    assert (tmp_path / "b.tar.gz").stat().st_size > 0
    wrong = run_vigil(data_dir, "backup", "--out", str(tmp_path / "b.zip"))
    assert wrong.returncode == 2 and "must end in .tar.gz" in wrong.stderr
    missing = run_vigil(tmp_path / "empty", "backup", "--out", str(tmp_path / "c.tar.gz"))
    assert missing.returncode == 2 and "no Vigil database" in missing.stderr
