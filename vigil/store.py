"""The one way to open Vigil's DuckDB database.

The engine owns a single read-write connection; each thread gets its own cursor on it
(DuckDB cursors are separate connections to the same database, safe across threads).
Schema changes are numbered SQL files in ``vigil/migrations`` applied in order, so a
database made by an older version upgrades in place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from vigil.errors import DataDirLockedError
from vigil.lock import DataDirLock

_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """All shipped migrations as (version, name, sql), in order."""
    found = []
    for entry in resources.files("vigil.migrations").iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found)


LATEST_VERSION = migrations()[-1][0]


def _connect(db_path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            who = f"pid {holder.group(2)} ({holder.group(1)})" if holder else "another process"
            raise DataDirLockedError(
                f"database {db_path} is in use by {who}; stop that process, "
                "or read its Parquet snapshots instead"
            ) from None
        raise


class Store:
    """Thread-safe access to one DuckDB file; use :meth:`open` or :meth:`open_read_only`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, lock: DataDirLock | None) -> None:
        self._conn = conn
        self._lock = lock
        self._local = threading.local()
        self.read_only = lock is None
        # samples carry no unique index: ingests take turns so each one's duplicate check
        # sees every sample committed before it
        self.ingest_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, *, migrate_to: int | None = None) -> Store:
        """Open read-write: take the data-dir lock, connect, and migrate."""
        data_dir.mkdir(parents=True, exist_ok=True)
        lock = DataDirLock(data_dir / "vigil.lock")
        lock.acquire()
        try:
            store = cls(_connect(data_dir / "vigil.duckdb", read_only=False), lock)
            store.migrate(migrate_to)
        except BaseException:
            lock.release()
            raise
        return store

    @classmethod
    def open_read_only(cls, data_dir: Path) -> Store:
        """For notebooks and tools while no engine runs on this data dir."""
        return cls(_connect(data_dir / "vigil.duckdb", read_only=True), None)

    def close(self) -> None:
        self._conn.close()
        if self._lock is not None:
            self._lock.release()

    @property
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._conn.cursor()
            self._local.cursor = cur
        return cur

    def schema_version(self) -> int:
        exists = self.one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
        )
        if not exists:
            return 0
        return int(self.one("SELECT max(version) FROM schema_migrations") or 0)

    def migrate(self, target: int | None = None) -> list[int]:
        """Apply pending migrations up to ``target`` (default: latest); returns those applied."""
        cur = self.cursor
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
        )
        current = self.schema_version()
        applied = []
        for version, name, sql in migrations():
            if version <= current or (target is not None and version > target):
                continue
            with self.transaction() as tx:
                tx.execute(sql)
                tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                    [version, name],
                )
            applied.append(version)
        return applied

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.cursor
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        self.cursor.execute(sql, params or [])

    def df(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        return self.cursor.execute(sql, params or []).df()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        # fetchall: DuckDB keeps a partly fetched result open and blocks the cursor
        rows = self.cursor.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None
