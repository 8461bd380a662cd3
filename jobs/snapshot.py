"""Parquet snapshots of the main tables, for notebooks while an engine holds the database.

DuckDB allows one read-write process per file, so analysts read copies instead. A
snapshot is a directory ``<snapshots_dir>/<UTC time>/`` with one Parquet file per table and
a ``manifest.json``. It is written into a hidden temporary directory and renamed into
place, then ``LATEST`` (a file holding the directory name) is replaced atomically: a
reader sees a complete snapshot or the previous one, never a partial one. All tables are
copied inside one transaction, so they are consistent with each other.

Scheduling: every ``snapshot_interval_seconds`` (default 15 min) the engine calls
:func:`write_snapshot`; the HTTP API's ``POST /api/v1/snapshot`` calls it on demand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pandas as pd

from vigil.store import Store

SNAPSHOT_TABLES: tuple[str, ...] = (
    "series",
    "samples",
    "samples_5m",
    "scores",
    "alerts",
    "alert_events",
    "incidents",
    "models",
    "rules",
    "job_runs",
    "source_health",
)
"""Exactly what a snapshot holds. Users, audit, chat, silences and the notification outbox
stay out: snapshots are read by anyone with access to the data dir's files."""

_ORDER = {
    "samples": "series_id, ts",
    "scores": "series_id, ts",
    "samples_5m": "series_id, bucket",
}
"""Sorted so Parquet row-group statistics let readers skip to one series."""

_TIME_LIMITED = {"samples": "ts", "scores": "ts"}
LATEST = "LATEST"
KEEP = 3
_NAME_RE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
_WRITING = threading.Lock()  # the scheduled job and an on-demand request may overlap


def _select(table: str, since: pd.Timestamp | None) -> str:
    where = ""
    if since is not None and table in _TIME_LIMITED:
        where = f" WHERE {_TIME_LIMITED[table]} >= '{since.isoformat(sep=' ')}'::TIMESTAMP"
    order = f" ORDER BY {_ORDER[table]}" if table in _ORDER else ""
    return f"SELECT * FROM {table}{where}{order}"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _new_name(snapshots_dir: Path, now: pd.Timestamp) -> str:
    base = pd.Timestamp(now).strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 0
    while (snapshots_dir / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _copy_tables(store: Store, target: Path, since: pd.Timestamp | None) -> dict[str, dict]:
    """COPY every table to Parquet inside one transaction; returns file and row count."""
    tables: dict[str, dict] = {}
    with store.transaction() as cur:
        for table in SNAPSHOT_TABLES:
            file = target / f"{table}.parquet"
            rows = cur.execute(
                f"COPY ({_select(table, since)}) TO {_quote(file)} "
                "(FORMAT parquet, COMPRESSION zstd)"
            ).fetchall()
            tables[table] = {"file": file.name, "rows": int(rows[0][0])}
    return tables


def _point_latest(snapshots_dir: Path, name: str) -> None:
    tmp = snapshots_dir / f".{LATEST}.{os.getpid()}"
    tmp.write_text(name + "\n")
    os.replace(tmp, snapshots_dir / LATEST)


def latest_snapshot(snapshots_dir: Path) -> Path | None:
    """The directory ``LATEST`` points at, if it exists."""
    try:
        name = (snapshots_dir / LATEST).read_text().strip()
    except OSError:
        return None
    path = snapshots_dir / name
    return path if name and (path / "manifest.json").exists() else None


def snapshot_dirs(snapshots_dir: Path) -> list[Path]:
    """Complete snapshots, oldest first (names sort by time)."""
    if not snapshots_dir.exists():
        return []
    return sorted(p for p in snapshots_dir.iterdir() if p.is_dir() and _NAME_RE.match(p.name))


def _rotate(snapshots_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` snapshots and the one ``LATEST`` names; drop stale temp dirs."""
    latest = latest_snapshot(snapshots_dir)
    for old in snapshot_dirs(snapshots_dir)[:-keep]:
        if old != latest:
            shutil.rmtree(old, ignore_errors=True)
    # Only the data dir's lock holder writes snapshots, so another pid's temp dir is a
    # leftover of a process that died mid-write.
    for stale in snapshots_dir.glob(".tmp-*"):
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)


def write_snapshot(
    store: Store,
    snapshots_dir: Path,
    now: pd.Timestamp,
    samples_days: float | None = None,
    keep: int = KEEP,
) -> Path:
    """Write a snapshot, point ``LATEST`` at it, keep the newest ``keep``; returns its dir.

    ``samples_days`` limits raw samples and scores to the last days (default: all raw).
    On failure nothing is left behind and ``LATEST`` is unchanged.
    """
    with _WRITING:
        return _write(store, snapshots_dir, pd.Timestamp(now), samples_days, keep)


def _write(
    store: Store, snapshots_dir: Path, now: pd.Timestamp, samples_days: float | None, keep: int
) -> Path:
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    name = _new_name(snapshots_dir, now)
    tmp = snapshots_dir / f".tmp-{name}-{os.getpid()}"
    since = None if samples_days is None else now - pd.Timedelta(days=samples_days)
    try:
        tmp.mkdir()
        tables = _copy_tables(store, tmp, since)
        manifest = {
            "created_at": now.isoformat() + "Z",
            "schema_version": store.schema_version(),
            "samples_since": None if since is None else since.isoformat() + "Z",
            "tables": tables,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        final = snapshots_dir / name
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_latest(snapshots_dir, name)
    _rotate(snapshots_dir, max(1, keep))
    return final
