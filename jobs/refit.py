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
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import IsolationForest

from analytics.artifacts import SharedParts, shared_file_name
from analytics.detector import (
    BaselineFit,
    DetectorModel,
    fit_baseline_part,
    fit_detector,
    shared_forests,
)
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


SHARED_DIR = "shared"


def _record(store: Store, models_dir: Path, outcomes: list[FitOutcome], now: pd.Timestamp) -> None:
    """Write the artifacts, then every model row and the baselines in one transaction.

    The pooled forest is the bulk of each model; it is written once, as a shared part,
    and each artifact refers to it by content key.
    """
    if not outcomes:
        return
    versions = dict(
        store.cursor.execute(
            "SELECT series_id, max(version) FROM models GROUP BY series_id"
        ).fetchall()
    )
    ids = [r[0] for r in store.cursor.execute(
        "SELECT nextval('model_id_seq') FROM range(?)", [len(outcomes)]
    ).fetchall()]  # fmt: skip
    shared = shared_forests()
    paths: list[str | None] = []
    for model_id, out in zip(ids, outcomes, strict=True):
        if out.model is None:
            paths.append(None)
            continue
        path = models_dir / str(out.series_id) / f"{model_id}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out.model.to_bytes(shared))
        paths.append(str(path))
    _write_shared(models_dir / SHARED_DIR, shared)
    rows = pd.DataFrame(
        {
            "model_id": ids,
            "series_id": [o.series_id for o in outcomes],
            "kind": [o.model.kind if o.model else "detector" for o in outcomes],
            "version": [int(versions.get(o.series_id, 0)) + 1 for o in outcomes],
            "status": ["ok" if o.model else "failed" for o in outcomes],
            "trained_at": now,
            "train_from": [o.model.train_from if o.model else pd.NaT for o in outcomes],
            "train_to": [o.model.train_to if o.model else pd.NaT for o in outcomes],
            "params": [json.dumps(o.model.params()) if o.model else None for o in outcomes],
            "quality": [json.dumps(o.model.quality()) if o.model else None for o in outcomes],
            "artifact_path": paths,
            "error": [o.error for o in outcomes],
        }
    )
    with store.transaction() as cur:
        cur.register("fitted_models", rows)
        cur.execute(
            "INSERT INTO models (model_id, series_id, kind, version, status, trained_at, "
            "train_from, train_to, params, quality, artifact_path, error) "
            "SELECT model_id, series_id, kind, version, status, trained_at, train_from, "
            "train_to, params, quality, artifact_path, error FROM fitted_models"
        )
        cur.execute(
            "INSERT OR REPLACE INTO baselines SELECT series_id, model_id, trained_at "
            "FROM fitted_models WHERE status = 'ok'"
        )
        cur.unregister("fitted_models")


def _write_shared(directory: Path, shared: SharedParts) -> None:
    """Each shared part once; a part already on disk has the same content (content key)."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, blob in shared.blobs.items():
        path = directory / shared_file_name(key)
        if not path.exists():
            partial = path.with_suffix(".partial")
            partial.write_bytes(blob)
            partial.replace(path)


class ModelReader:
    """Loads model artifacts and the shared parts they refer to, each part once, so every
    model fitted in one refit holds the very same forest object."""

    def __init__(self) -> None:
        self._parts: dict[tuple[Path, str], object] = {}

    def load(self, artifact: Path) -> DetectorModel:
        shared_dir = artifact.parent.parent / SHARED_DIR  # <models_dir>/<series>/<id>.bin

        def resolve(key: str) -> object:
            if (shared_dir, key) not in self._parts:
                part = shared_dir / shared_file_name(key)
                if not part.exists():
                    raise FileNotFoundError(
                        f"model artifact {artifact} needs {part}, which is missing; "
                        "a refit writes the models again"
                    )
                self._parts[(shared_dir, key)] = pickle.loads(part.read_bytes())
            return self._parts[(shared_dir, key)]

        return DetectorModel.from_bytes(artifact.read_bytes(), resolve)


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
