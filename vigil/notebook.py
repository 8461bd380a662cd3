"""The analyst's entry point: open a data dir from a notebook and get frames back.

Notebooks read the database directly while no engine holds the data dir (DuckDB allows
many readers or one writer); with an engine running they get a clear error pointing at
the engine's snapshots.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vigil.store import Store


@dataclass
class DataDir:
    """Read-only view of one data dir."""

    store: Store

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


def open_data_dir(path: str | Path = "data") -> DataDir:
    return DataDir(Store.open_read_only(Path(path)))
