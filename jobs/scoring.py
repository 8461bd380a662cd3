"""Scoring: run each series' current detector over new samples and store the results.

Detectors need recent context (their level tracks the last hours), so a window is
scored together with a day of history before it; only rows inside the window are
written. Scores are keyed by (series_id, ts), so rescoring a window replaces, never adds.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from analytics.detector import DetectorModel, score_series
from jobs.refit import training_sets
from vigil.store import Store

CONTEXT = pd.Timedelta(days=1)
PARALLEL_ABOVE = 200_000  # points; below this a process pool costs more than it saves


class ModelCache:
    """Detectors loaded from their artifacts, kept by model id (artifacts never change)."""

    def __init__(self) -> None:
        self._models: dict[int, DetectorModel] = {}
        self._lock = threading.Lock()

    def current(self, store: Store) -> dict[int, DetectorModel]:
        """The model evaluation should use for each series: its latest good fit."""
        rows = store.cursor.execute(
            "SELECT b.series_id, b.model_id, m.artifact_path "
            "FROM baselines b JOIN models m USING (model_id)"
        ).fetchall()
        out: dict[int, DetectorModel] = {}
        with self._lock:
            for series_id, model_id, path in rows:
                if model_id not in self._models:
                    self._models[model_id] = DetectorModel.from_bytes(Path(path).read_bytes())
                out[int(series_id)] = self._models[model_id]
        return out


def _score_one(
    series_id: int, model: DetectorModel, ts: np.ndarray, values: np.ndarray, since: np.datetime64
) -> pd.DataFrame:
    return score_series(model, ts, values, score_from=since).assign(series_id=series_id)


def score_window(store: Store, cache: ModelCache, since: pd.Timestamp, until: pd.Timestamp) -> int:
    """Score samples with ts in [since, until) for every series that has a model."""
    models = cache.current(store)
    sets = [s for s in training_sets(store, since - CONTEXT, until) if s[0] in models]
    if not sets:
        return 0
    points = sum(len(s[1]) for s in sets)
    n_jobs = -1 if points > PARALLEL_ABOVE else 1
    cutoff = np.datetime64(since.as_unit("ns"))
    tasks = (delayed(_score_one)(sid, models[sid], ts, vals, cutoff) for sid, ts, vals in sets)
    frames = [f for f in Parallel(n_jobs=n_jobs)(tasks) if not f.empty]
    if not frames:
        return 0
    scores = pd.concat(frames, ignore_index=True)[
        ["series_id", "ts", "expected", "lower", "upper", "score"]
    ]
    with store.transaction() as cur:
        cur.register("new_scores", scores)
        cur.execute("INSERT OR REPLACE INTO scores SELECT * FROM new_scores")
        cur.unregister("new_scores")
    return len(scores)
