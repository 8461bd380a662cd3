from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from vigil.errors import DataDirLockedError
from vigil.store import LATEST_VERSION, Store


def test_new_database_gets_every_migration(store: Store) -> None:
    assert store.schema_version() == LATEST_VERSION
    tables = set(store.df("SELECT table_name FROM information_schema.tables")["table_name"])
    for table in (
        "series",
        "samples",
        "scores",
        "models",
        "baselines",
        "rules",
        "rule_versions",
        "alerts",
        "alert_events",
        "silences",
        "notifications",
        "incidents",
        "users",
        "audit_log",
        "chat_sessions",
        "chat_messages",
        "source_health",
        "job_runs",
    ):
        assert table in tables  # fmt: skip


def test_older_database_upgrades_in_place_keeping_its_rows(data_dir: Path) -> None:
    old = Store.open(data_dir, migrate_to=1)
    assert old.schema_version() == 1
    old.execute(
        "INSERT INTO series (series_key, metric, labels, source) VALUES ('up', 'up', '{}', 'x')"
    )
    old.close()
    upgraded = Store.open(data_dir)
    try:
        assert upgraded.schema_version() == LATEST_VERSION
        assert upgraded.one("SELECT count(*) FROM series") == 1
        assert upgraded.one("SELECT count(*) FROM users") == 0
    finally:
        upgraded.close()


def test_samples_survive_the_move_to_the_append_only_table(data_dir: Path) -> None:
    """Migration 0004 rebuilds ``samples`` without its key: every row must come across."""
    old = Store.open(data_dir, migrate_to=3)
    old.execute(
        "INSERT INTO series (series_id, series_key, metric, labels, source)"
        " VALUES (1, 'up', 'up', '{}', 'x')"
    )
    old.execute(
        "INSERT INTO samples SELECT 1, TIMESTAMP '2026-01-01' + INTERVAL (i) MINUTE, i"
        " FROM range(500) t(i)"
    )
    with pytest.raises(duckdb.ConstraintException):  # the old table refused duplicates itself
        old.execute("INSERT INTO samples VALUES (1, TIMESTAMP '2026-01-01', 7)")
    old.close()
    upgraded = Store.open(data_dir)
    try:
        assert upgraded.one("SELECT count(*) FROM samples") == 500
        assert upgraded.one("SELECT sum(value) FROM samples") == sum(range(500))
        assert upgraded.one("SELECT max(ts) FROM samples") == pd.Timestamp("2026-01-01 08:19")
    finally:
        upgraded.close()


def test_reopening_applies_nothing_twice(data_dir: Path) -> None:
    Store.open(data_dir).close()
    again = Store.open(data_dir)
    try:
        assert again.migrate() == []
        assert again.one("SELECT count(*) FROM schema_migrations") == LATEST_VERSION
    finally:
        again.close()


def test_second_open_in_same_process_names_the_holder(store: Store, data_dir: Path) -> None:
    with pytest.raises(DataDirLockedError, match=r"in use by pid \d+"):
        Store.open(data_dir)


def test_failed_transaction_changes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute(
            "INSERT INTO series (series_key, metric, labels, source) VALUES ('a','a','{}','x')"
        )
        raise RuntimeError("boom")
    assert store.one("SELECT count(*) FROM series") == 0


def test_second_process_gets_one_line_error_naming_holder(data_dir: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from vigil.store import Store
            store = Store.open(Path({str(data_dir)!r}))  # held while this process lives
            print("ready", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        csv = tmp_path / "x.csv"
        csv.write_text("timestamp,metric,value\n2026-01-01T00:00:00Z,up,1\n")
        result = subprocess.run(
            [sys.executable, "-m", "vigil", "import", str(csv), "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"pid {holder.pid}" in lines[0]
    assert "Traceback" not in result.stderr
