from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vigil.errors import ImportFileError
from vigil.ingest import ingest
from vigil.sources.files import read_long_file
from vigil.store import Store

GOOD = """timestamp,metric,value,instance,service
2026-01-01T00:00:00Z,node_load1,0.5,a,web
2026-01-01T00:01:00Z,node_load1,0.7,a,web
2026-01-01T00:00:00Z,node_load1,1.5,b,
1767225720,node_load1,2.5,b,
"""


def test_labels_come_from_extra_columns_and_empty_labels_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    result = read_long_file(path)
    assert sorted(result.catalog["series_key"]) == [
        'node_load1{instance="a",service="web"}',
        'node_load1{instance="b"}',
    ]
    epoch_row = result.samples.loc[result.samples["value"] == 2.5, "ts"].iloc[0]
    assert epoch_row == pd.Timestamp("2026-01-01T00:02:00")


def test_bad_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,metric,value\n"
        "2026-01-01T00:00:00Z,up,1\n"
        "yesterday-ish,up,1\n"
        "2026-01-01T00:02:00Z,up,NaNish\n"
        "2026-01-01T00:03:00Z,9bad,1\n"
    )
    with pytest.raises(ImportFileError) as caught:
        read_long_file(path)
    message = str(caught.value)
    assert "3 bad row(s)" in message
    assert "line 3: timestamp" in message
    assert "line 4: value" in message
    assert "line 5: metric" in message


def test_bad_file_imports_nothing(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,metric,value\n2026-01-01T00:00:00Z,up,1\nnope,up,2\n")
    with pytest.raises(ImportFileError):
        ingest(store, "file", read_long_file(path))
    assert store.one("SELECT count(*) FROM samples") == 0
    assert store.one("SELECT count(*) FROM series") == 0


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,metric,value\n1,up,1\n")
    with pytest.raises(ImportFileError, match="missing column"):
        read_long_file(path)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pd.DataFrame(
        {
            "timestamp": ["2026-01-01T00:00:00Z", "never"],
            "metric": ["up", "up"],
            "value": [1.0, 2.0],
        }
    ).to_parquet(path)
    with pytest.raises(ImportFileError, match="line 2: timestamp"):
        read_long_file(path)


def test_importing_twice_adds_nothing_the_second_time(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    assert ingest(store, "file", read_long_file(path)) == 4
    assert ingest(store, "file", read_long_file(path)) == 0
    assert store.one("SELECT count(*) FROM samples") == 4
