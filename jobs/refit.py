"""The refit job: fit every series' detector on its recent history.

Inputs are read first, models are fitted with no transaction open (on a joblib pool, so
a user who outgrows one machine can switch the backend), then artifacts are written and
the model rows recorded in one short transaction. A series whose fit fails keeps its
previous model; the failure is recorded on a ``failed`` model row.

Fitting runs in two passes over batches of series: first every baseline, with a sample of
each series' feature rows; then one isolation forest on the pooled samples, which each
series calibrates to its own history. One forest instead of one per series halves a
refit's cost, and it learns from the whole estate's normal shapes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import IsolationForest

from analytics.detector import BaselineFit, DetectorModel, fit_baseline_part, fit_detector
from analytics.isolation import pooled_forest
from vigil.clock import as_ns, utc_now
from vigil.store import Store

log = logging.getLogger(__name__)

MIN_POINTS = 30
POOL_MIN_ROWS = 256  # fewer pooled rows than one forest sample: each series grows its own
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FitOutcome:
    series_id: int
    model: DetectorModel | None
    error: str | None


@dataclass(frozen=True)
class RefitSummary:
    fitted: int
    failed: int
    skipped: int


def _prepare_batch(
    batch: list[tuple[int, np.ndarray, np.ndarray]], step: int
) -> list[tuple[int, BaselineFit | None, str | None]]:
    out = []
    for series_id, ts, values in batch:
        try:
            out.append((series_id, fit_baseline_part(ts, values, step, seed=series_id), None))
        except Exception as exc:  # one bad series must not stop the others
            out.append((series_id, None, f"{type(exc).__name__}: {exc}"))
    return out


def _finish_batch(
    batch: list[tuple[int, np.ndarray, np.ndarray, BaselineFit]],
    step: int,
    forest: IsolationForest | None,
) -> list[FitOutcome]:
    out = []
    for series_id, ts, values, prepared in batch:
        try:
            model = fit_detector(ts, values, step, prepared=prepared, forest=forest)
            out.append(FitOutcome(series_id, model, None))
        except Exception as exc:
            out.append(FitOutcome(series_id, None, f"{type(exc).__name__}: {exc}"))
    return out


def _batches(items: list, n_jobs: int) -> list[list]:
    """About four batches per worker: few enough to amortise dispatch, enough to balance."""
    workers = (os.cpu_count() or 1) if n_jobs < 0 else max(n_jobs, 1)
    size = max(1, -(-len(items) // (4 * workers)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def training_sets(
    store: Store, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(series_id, ts, values) per series with samples in [start, end), ordered by time."""
    frame = store.df(
        "SELECT series_id, ts, value FROM samples WHERE ts >= ? AND ts < ? ORDER BY series_id, ts",
        [start.to_pydatetime(), end.to_pydatetime()],
    )
    if frame.empty:
        return []
    ids = frame["series_id"].to_numpy()
    cuts = np.flatnonzero(np.diff(ids)) + 1
    ts_all, values_all = as_ns(frame["ts"]), frame["value"].to_numpy(float)
    return [
        (int(idx[0]), ts, vals)
        for idx, ts, vals in zip(
            np.split(ids, cuts), np.split(ts_all, cuts), np.split(values_all, cuts), strict=True
        )
    ]


def _record(store: Store, models_dir: Path, outcomes: list[FitOutcome], now: pd.Timestamp) -> None:
    versions = dict(
        store.cursor.execute(
            "SELECT series_id, max(version) FROM models GROUP BY series_id"
        ).fetchall()
    )
    with store.transaction() as cur:
        for out in outcomes:
            version = int(versions.get(out.series_id, 0)) + 1
            model = out.model
            row = cur.execute(
                """
                INSERT INTO models (series_id, kind, version, status, trained_at, train_from,
                    train_to, params, quality, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING model_id
                """,
                [
                    out.series_id,
                    model.kind if model else "detector",
                    version,
                    "ok" if model else "failed",
                    now.to_pydatetime(),
                    model.train_from.to_pydatetime() if model else None,
                    model.train_to.to_pydatetime() if model else None,
                    json.dumps(model.params()) if model else None,
                    json.dumps(model.quality()) if model else None,
                    out.error,
                ],
            ).fetchall()[0]
            if model is None:
                continue
            path = models_dir / str(out.series_id) / f"{row[0]}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(model.to_bytes())
            cur.execute(
                "UPDATE models SET artifact_path = ? WHERE model_id = ?", [str(path), row[0]]
            )
            cur.execute(
                "INSERT OR REPLACE INTO baselines VALUES (?, ?, ?)",
                [out.series_id, row[0], now.to_pydatetime()],
            )


def refit_all(
    store: Store,
    models_dir: Path,
    *,
    training_days: int,
    step_seconds: int,
    now: pd.Timestamp | None = None,
    progress: Progress | None = None,
    n_jobs: int = -1,
) -> RefitSummary:
    """Fit a detector for every series with enough history; returns what happened."""
    now = now if now is not None else utc_now()
    sets = training_sets(
        store, now - pd.Timedelta(days=training_days), now + pd.Timedelta(seconds=1)
    )
    usable = [s for s in sets if np.isfinite(s[2]).sum() >= MIN_POINTS]
    data = {sid: (ts, vals) for sid, ts, vals in usable}
    total = 2 * len(usable)  # progress counts a baseline pass and a forest pass per series
    done = 0
    outcomes: list[FitOutcome] = []
    prepared: list[tuple[int, np.ndarray, np.ndarray, BaselineFit]] = []
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    first = (delayed(_prepare_batch)(b, step_seconds) for b in _batches(usable, n_jobs))
    for batch in parallel(first):
        for series_id, part, error in batch:
            if part is None:
                outcomes.append(FitOutcome(series_id, None, error))
            else:
                prepared.append((series_id, *data[series_id], part))
        done += len(batch)
        if progress is not None:
            progress(done, total)
    samples = [p[3].sample for p in prepared if len(p[3].sample)]
    pooled = np.vstack(samples) if samples else np.zeros((0, 4))
    forest = pooled_forest(pooled) if len(pooled) >= POOL_MIN_ROWS else None
    tasks = (delayed(_finish_batch)(b, step_seconds, forest) for b in _batches(prepared, n_jobs))
    for batch in parallel(tasks):
        outcomes.extend(batch)
        done += len(batch)
        if progress is not None:
            progress(done, total)
    _record(store, models_dir, outcomes, now)
    failed = sum(o.model is None for o in outcomes)
    for out in outcomes:
        if out.error:
            log.warning("fit failed for series %s: %s", out.series_id, out.error)
    return RefitSummary(len(outcomes) - failed, failed, len(sets) - len(usable))
