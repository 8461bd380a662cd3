from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from jobs import snapshot as snap
from jobs.snapshot import SNAPSHOT_TABLES, latest_snapshot, snapshot_dirs, write_snapshot
from vigil.store import Store

NOW = pd.Timestamp("2026-03-01 12:00:00")


def _seed(store: Store) -> None:
    store.execute(
        "INSERT INTO series (series_key, metric, labels, source) VALUES ('up', 'up', '{}', 't')"
    )
    store.execute(
        "INSERT INTO samples SELECT 1, TIMESTAMP '2026-03-01' - i * INTERVAL 1 hour, i "
        "FROM range(100) t(i)"
    )
    store.execute("INSERT INTO samples_5m VALUES (1, TIMESTAMP '2026-01-01', 0, 1, 0.5, 5)")
    store.execute(
        "INSERT INTO users (username, password_hash, role) VALUES ('admin', 'secret-hash', 'admin')"
    )


def test_snapshot_tables_are_listed_explicitly_and_hold_no_secrets() -> None:
    assert SNAPSHOT_TABLES == (
        "series", "samples", "samples_5m", "scores", "alerts", "alert_events", "incidents",
        "models", "rules", "job_runs", "source_health",
    )  # fmt: skip
    for private in ("users", "audit_log", "chat_messages", "notifications", "silences"):
        assert private not in SNAPSHOT_TABLES


def test_snapshot_files_are_readable_with_the_right_row_counts(
    store: Store, tmp_path: Path
) -> None:
    _seed(store)
    path = write_snapshot(store, tmp_path / "snapshots", NOW)
    assert path.name == "20260301T120000Z"
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["created_at"] == "2026-03-01T12:00:00Z"
    assert set(manifest["tables"]) == set(SNAPSHOT_TABLES)
    for table, entry in manifest["tables"].items():
        rows = duckdb.sql(f"SELECT count(*) FROM '{path / entry['file']}'").fetchall()[0][0]
        assert rows == entry["rows"] == store.one(f"SELECT count(*) FROM {table}"), table
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [f"{t}.parquet" for t in SNAPSHOT_TABLES] + ["manifest.json"]
    )
    assert latest_snapshot(tmp_path / "snapshots") == path


def test_samples_can_be_limited_to_the_last_days(store: Store, tmp_path: Path) -> None:
    _seed(store)
    path = write_snapshot(store, tmp_path / "snapshots", NOW, samples_days=1)
    rows = json.loads((path / "manifest.json").read_text())["tables"]["samples"]["rows"]
    assert rows == 13  # 2026-02-28 12:00 .. 2026-03-01 00:00, hourly


def test_failing_snapshot_leaves_nothing_and_latest_unchanged(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots = tmp_path / "snapshots"
    first = write_snapshot(store, snapshots, NOW)
    monkeypatch.setattr(snap, "SNAPSHOT_TABLES", (*SNAPSHOT_TABLES, "no_such_table"))
    with pytest.raises(duckdb.CatalogException):
        write_snapshot(store, snapshots, NOW + pd.Timedelta(minutes=15))
    assert sorted(p.name for p in snapshots.iterdir()) == [first.name, "LATEST"]
    assert latest_snapshot(snapshots) == first


def test_rotation_keeps_the_newest_k(store: Store, tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    (snapshots / ".tmp-20200101T000000Z-1").mkdir(parents=True)  # a crashed writer's leftover
    written = [
        write_snapshot(store, snapshots, NOW + pd.Timedelta(minutes=15 * i), keep=3)
        for i in range(5)
    ]
    assert snapshot_dirs(snapshots) == written[-3:]
    assert latest_snapshot(snapshots) == written[-1]
    assert not list(snapshots.glob(".tmp-*"))


def test_same_second_snapshots_get_distinct_names(store: Store, tmp_path: Path) -> None:
    a = write_snapshot(store, tmp_path / "s", NOW)
    b = write_snapshot(store, tmp_path / "s", NOW)
    assert a != b and latest_snapshot(tmp_path / "s") == b


def test_cli_snapshot_on_a_free_data_dir_writes_one(data_dir: Path, tmp_path: Path) -> None:
    opened = Store.open(data_dir)
    _seed(opened)
    opened.close()
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "snapshot", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "", "VIGIL_CONFIG": str(tmp_path / "absent.toml")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = latest_snapshot(data_dir / "snapshots")
    assert written is not None and str(written) in result.stdout
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["tables"]["samples"]["rows"] == 100


def test_cli_snapshot_without_a_database_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "snapshot", "--data-dir", str(tmp_path / "nothing")],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "", "VIGIL_CONFIG": str(tmp_path / "absent.toml")},
    )  # fmt: skip
    assert result.returncode == 2
    assert "no Vigil database" in result.stderr and "Traceback" not in result.stderr
