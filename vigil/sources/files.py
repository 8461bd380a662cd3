"""Import of long-format CSV or Parquet files: ``timestamp, metric, value`` plus label columns.

The whole file is validated before anything is stored: every bad row is reported with its
line number (CSV lines count the header as line 1; Parquet rows count from 1) and the
import stores nothing, so a half-imported file can never pollute baselines.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vigil.errors import ImportFileError
from vigil.labels import series_key
from vigil.sources.base import PullResult

REQUIRED = ("timestamp", "metric", "value")
_METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_REPORTED = 20
MAX_IMPORT_BYTES = 100 * 2**20
MAX_IMPORT_ROWS = 5_000_000
MAX_PARQUET_UNCOMPRESSED_BYTES = 1 * 2**30


def _check_parquet_metadata(path: Path) -> None:
    """Refuse a Parquet file whose metadata promises more than an import may hold."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if meta.num_rows > MAX_IMPORT_ROWS:
        raise ImportFileError(
            f"{path}: {meta.num_rows} rows; an import may hold at most {MAX_IMPORT_ROWS}"
            " (split the file)"
        )
    if size > MAX_PARQUET_UNCOMPRESSED_BYTES:
        raise ImportFileError(
            f"{path}: {size / 2**20:.0f} MiB uncompressed; an import may hold at most "
            f"{MAX_PARQUET_UNCOMPRESSED_BYTES // 2**20} MiB (split the file)"
        )


def _read_csv(path: Path) -> pd.DataFrame:
    """Every field as text; a row with more fields than the header is an error (pandas
    would otherwise take the extra ones as an index and shift every column)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(path, dtype="string", keep_default_na=False, index_col=False,
                                nrows=MAX_IMPORT_ROWS + 1)  # fmt: skip
        except pd.errors.ParserWarning:
            raise ImportFileError(f"{path}: line 2 has more fields than the header") from None
    if len(frame) > MAX_IMPORT_ROWS:
        raise ImportFileError(
            f"{path}: more than {MAX_IMPORT_ROWS} rows; an import may hold at most "
            f"{MAX_IMPORT_ROWS} (split the file)"
        )
    return frame


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    """The raw frame (all text) and the offset from row index to reported line number."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{path}: not a file")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise ImportFileError(
            f"{path}: {path.stat().st_size / 2**20:.0f} MiB; an import file may be at most "
            f"{MAX_IMPORT_BYTES // 2**20} MiB (split the file)"
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            _check_parquet_metadata(path)
            return pd.read_parquet(path).astype("string"), 1
        if suffix in (".csv", ".txt"):
            return _read_csv(path), 2
    except (ValueError, OSError) as exc:
        raise ImportFileError(f"{path}: cannot read: {exc}") from None
    raise ImportFileError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(raw, errors="coerce")
    as_epoch = pd.to_datetime(numeric, unit="s", errors="coerce", utc=True)
    as_text = pd.to_datetime(raw.where(numeric.isna()), errors="coerce", utc=True, format="mixed")
    return as_epoch.fillna(as_text).dt.tz_localize(None).astype("datetime64[ns]")


def _problems(frame: pd.DataFrame, ts: pd.Series, values: pd.Series, offset: int) -> list[str]:
    checks = [
        (ts.isna(), "timestamp", "is not a time"),
        (~frame["metric"].fillna("").str.match(_METRIC_RE), "metric", "is not a metric name"),
        (values.isna() & frame["value"].fillna("").str.strip().ne(""), "value", "is not a number"),
        (frame["value"].fillna("").str.strip().eq(""), "value", "is empty"),
        (values.notna() & ~np.isfinite(values.astype(float)), "value", "is not a finite number"),
    ]
    found: list[tuple[int, str]] = []
    for mask, column, what in checks:
        for idx in np.flatnonzero(mask.to_numpy(dtype=bool)):
            found.append(
                (int(idx), f"line {idx + offset}: {column} {frame[column].iat[idx]!r} {what}")
            )
    return [message for _, message in sorted(found)]


def read_long_file(path: Path, source: str = "file") -> PullResult:
    """Parse and validate a file; raises ImportFileError listing every bad line."""
    frame, offset = _read(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ImportFileError(f"{path}: missing column(s) {', '.join(missing)}")
    label_cols = [c for c in frame.columns if c not in REQUIRED]
    bad_labels = [c for c in label_cols if not _LABEL_RE.match(str(c))]
    if bad_labels:
        raise ImportFileError(f"{path}: column(s) {bad_labels} are not valid label names")
    if frame.empty:
        raise ImportFileError(f"{path}: no rows")
    ts = _parse_timestamps(frame["timestamp"])
    values = pd.to_numeric(frame["value"].str.strip(), errors="coerce")
    problems = _problems(frame, ts, values, offset)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise ImportFileError(
            f"{path}: {len(problems)} bad row(s), nothing imported: {shown}{more}"
        )
    labels = frame[label_cols].fillna("")
    label_dicts = [
        {k: v for k, v in zip(label_cols, row, strict=True) if v}
        for row in labels.itertuples(index=False)
    ]
    keys = [series_key(m, lab) for m, lab in zip(frame["metric"], label_dicts, strict=True)]
    samples = pd.DataFrame(
        {"series_key": keys, "ts": ts.to_numpy(), "value": values.to_numpy(float)}
    )
    first = pd.Series(range(len(keys))).groupby(pd.Series(keys)).first()
    catalog = pd.DataFrame(
        {
            "series_key": first.index,
            "metric": frame["metric"].to_numpy()[first.to_numpy()],
            "labels": [label_dicts[i] for i in first.to_numpy()],
            "unit": None,
            "service": [label_dicts[i].get("service") for i in first.to_numpy()],
            "host": [label_dicts[i].get("instance") for i in first.to_numpy()],
        }
    )
    return PullResult(
        samples=samples.drop_duplicates(["series_key", "ts"], keep="last"), catalog=catalog
    )
