"""The analyst's entry point: open a data dir from a notebook and get frames back.

Notebooks read the database directly while no engine holds the data dir (DuckDB allows
many readers or one writer). While an engine runs they read its latest Parquet snapshot
instead (``data/snapshots``, see :mod:`jobs.snapshot`) through an in-memory DuckDB with
one view per table, so the same SQL and the same methods work on both. ``source`` says
which one a :class:`DataDir` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from jobs.snapshot import latest_snapshot
from vigil.errors import DataDirLockedError
from vigil.lock import read_holder
from vigil.store import Store


@dataclass
class DataDir:
    """Read-only view of one data dir: ``source`` is "database" or "snapshot <time>"."""

    store: Store
    source: str = "database"

    def series(self) -> pd.DataFrame:
        frame = self.store.df(
            "SELECT series_id, series_key, metric, labels, service, host, unit FROM series "
            "ORDER BY series_key"
        )
        frame["labels"] = [json.loads(v) for v in frame["labels"]]
        return frame

    def series_frame(
        self, series_key: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Samples of one series with the detector's expected value, band and score."""
        return self.store.df(
            """
            SELECT s.ts, s.value, c.expected, c.lower, c.upper, c.score
            FROM samples s JOIN series USING (series_id)
            LEFT JOIN scores c USING (series_id, ts)
            WHERE series_key = ? AND s.ts >= coalesce(?, '-infinity'::TIMESTAMP)
              AND s.ts < coalesce(?, 'infinity'::TIMESTAMP)
            ORDER BY s.ts
            """,
            [
                series_key,
                start.to_pydatetime() if start is not None else None,
                end.to_pydatetime() if end is not None else None,
            ],
        )

    def alerts(self, state: str | None = None) -> pd.DataFrame:
        return self.store.df(
            "SELECT alert_id, rule_id, service, severity, state, active_at, fired_at, "
            "resolved_at, value, json_extract_string(annotations, '$.summary') AS summary "
            "FROM alerts WHERE state = coalesce(?, state) ORDER BY active_at DESC",
            [state],
        )

    def incidents(self) -> pd.DataFrame:
        return self.store.df("SELECT * FROM incidents ORDER BY started_at")

    def close(self) -> None:
        self.store.close()


def open_snapshot(snapshot: Path) -> DataDir:
    """One snapshot directory as a :class:`DataDir` (views over its Parquet files).

    Views read the files at query time, so the snapshot must outlive the session: the
    engine keeps the newest three, i.e. about 45 minutes at the default interval; open
    the data dir again for fresher data.
    """
    manifest = json.loads((snapshot / "manifest.json").read_text())
    conn = duckdb.connect(":memory:")
    for table, entry in manifest["tables"].items():
        path = str(snapshot / entry["file"]).replace("'", "''")
        conn.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    return DataDir(Store(conn, None), source=f"snapshot {manifest['created_at']}")


def open_data_dir(path: str | Path = "data") -> DataDir:
    """The database when it is free, else the engine's latest snapshot (and say so)."""
    data_dir = Path(path)
    try:
        return DataDir(Store.open_read_only(data_dir))
    except DataDirLockedError as exc:
        locked = str(exc)
    except duckdb.ConnectionException as exc:  # held read-write by this very process
        locked = f"database in {data_dir} is open in this process ({exc})"
    snapshot = latest_snapshot(data_dir / "snapshots")
    if snapshot is None:
        raise DataDirLockedError(f"{locked}; no snapshot in {data_dir / 'snapshots'} yet")
    opened = open_snapshot(snapshot)
    holder = read_holder(data_dir / "vigil.lock")
    who = holder.describe() if holder else "another process"
    print(f"{data_dir} is held by {who}; reading its {opened.source}")
    return opened
