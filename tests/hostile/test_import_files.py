"""Hostile import files: over the size limit, a Parquet file of compressed zeros that
would inflate far past it, more rows than an import may hold, NaN/Inf/1e309 values and
invalid UTF-8. Each is refused before anything is stored, naming the line where a line is
to blame (NaN and Inf are refused by line, never stored: a gap is a missing row)."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_vigil
from tests.hostile.conftest import assert_cli_refused, assert_one_line, state_of, vigil_in_process
from vigil.errors import ImportFileError
from vigil.sources import files
from vigil.sources.files import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, read_long_file

HEADER = "timestamp,metric,value\n"


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk: the limit must come from its size."""
    with open(path, "wb") as out:
        out.truncate(size)
    return path


def _zeros_parquet(path: Path, rows: int, chunk: int = 1_000_000) -> Path:
    """``rows`` rows of zeros in row groups of ``chunk``: a few hundred KiB on disk."""
    schema = pa.schema([("timestamp", pa.int64()), ("metric", pa.string()),
                        ("value", pa.float64())])  # fmt: skip
    block = pa.table({"timestamp": np.zeros(chunk, dtype=np.int64),
                      "metric": pa.array(["up"] * chunk).dictionary_encode().cast(pa.string()),
                      "value": np.zeros(chunk)}, schema=schema)  # fmt: skip
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for _ in range(rows // chunk):
            writer.write_table(block)
    return path


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(ImportFileError) as refused:
        read_long_file(path)
    message = str(refused.value)
    assert_one_line(message)
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, suffix: str) -> None:
    _refused(_sparse(tmp_path / f"huge{suffix}", MAX_IMPORT_BYTES + 1), "MiB", "at most")


def test_a_parquet_bomb_is_refused_from_its_metadata(tmp_path: Path) -> None:
    """Six million rows of zeros, stored in well under a MiB: refused by the row count
    in the footer, without decompressing a column (the peak memory barely moves)."""
    path = _zeros_parquet(tmp_path / "bomb.parquet", MAX_IMPORT_ROWS + 1_000_000)
    assert path.stat().st_size < 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _refused(path, f"{MAX_IMPORT_ROWS + 1_000_000} rows", "at most")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kib < 64 * 1024


def test_a_csv_with_more_rows_than_an_import_holds_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_IMPORT_ROWS", 50)
    path = tmp_path / "long.csv"
    path.write_text(HEADER + "".join(f"{1_700_000_000 + 60 * i},up,1\n" for i in range(51)))
    _refused(path, "more than 50 rows")
    path.write_text(HEADER + "".join(f"{1_700_000_000 + 60 * i},up,1\n" for i in range(50)))
    assert len(read_long_file(path).samples) == 50


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Inf", "+inf", "1e309", "-1e309"])
def test_non_finite_values_are_refused_by_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "values.csv"
    path.write_text(HEADER + f"1700000000,up,1\n1700000060,up,{bad}\n1700000120,up,2\n")
    _refused(path, "line 3", repr(bad), "nothing imported")


def test_non_finite_parquet_values_are_refused_by_row(tmp_path: Path) -> None:
    path = tmp_path / "values.parquet"
    pq.write_table(pa.table({"timestamp": [1_700_000_000, 1_700_000_060, 1_700_000_120],
                             "metric": ["up", "up", "up"],
                             "value": [1.0, float("inf"), float("nan")]}), path)  # fmt: skip
    message = _refused(path, "line 2", "nothing imported")
    assert "line 3" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (HEADER.encode() + b"1700000000,up\xff\xfe,1\n", ("UTF-8", "cannot read")),
        (b"\xff\xfe\x00t\x00i\x00m\x00e", ("cannot read",)),
        (b"", ("cannot read",)),
        (b"timestamp,value\n1700000000,1\n", ("missing column", "metric")),
        (HEADER.encode() + b"1700000000,up,1,extra,columns\n", ("line 2", "fields")),
        (HEADER.encode() + b"1700000000,up,1\n1700000060,up,1,x\n", ("line 3", "fields")),
        (b"PAR1\x00\x00garbage", ("missing column",)),
    ],
    ids=[
        "invalid utf-8",
        "utf-16",
        "empty",
        "missing metric",
        "ragged first",
        "ragged",
        "parquet magic",
    ],
)
def test_a_malformed_csv_is_refused(tmp_path: Path, content: bytes, words: tuple[str, ...]):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    message = _refused(path)
    assert any(w.lower() in message.lower() for w in words), message


def test_vigil_import_refuses_hostile_files_and_stores_nothing(
    imported: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cases = {
        "nan.csv": (HEADER + "1700000000,up,nan\n").encode(),
        "inf.csv": (HEADER + "1700000000,up,1e309\n").encode(),
        "utf8.csv": HEADER.encode() + b"1700000000,\xff,1\n",
    }
    before = state_of(imported)
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        assert_cli_refused(vigil_in_process(monkeypatch, imported, "import", str(tmp_path / name)),
                           name)  # fmt: skip
    bomb = _zeros_parquet(tmp_path / "bomb.parquet", MAX_IMPORT_ROWS + 1_000_000)
    assert_cli_refused(vigil_in_process(monkeypatch, imported, "import", str(bomb)), "rows")
    huge = _sparse(tmp_path / "huge.csv", MAX_IMPORT_BYTES + 1)
    assert_cli_refused(run_vigil(imported, "import", str(huge)), "huge.csv", "MiB")
    assert state_of(imported) == before
