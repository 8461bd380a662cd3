"""Scoring: run each series' current detector over its new samples and store the results.

Each sample is scored once, by the model current when it is first scored (the detector is
online: a later refit does not rewrite history). A tick brings a point or two per series,
so the engine keeps one :class:`analytics.batch_scoring.BatchScorer` alive between ticks
and scores all series together; it is rebuilt from the store when models change or a
sample arrives late (older than what its row has seen). A long stretch per series (the
first evaluation after a backfill) is scored series by series instead, vectorised along
time, which gives the same figures. Scores are keyed by (series_id, ts): writing replaces.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from analytics.batch_scoring import BatchScorer
from analytics.detector import DetectorModel, score_series
from analytics.online import context_span
from jobs.refit import ModelReader, training_sets
from vigil.clock import as_ns
from vigil.store import Store

CONTEXT = pd.Timedelta(days=1)
PARALLEL_ABOVE = 200_000  # points; below this a process pool costs more than it saves
BATCH_MAX_POINTS = 60  # new points per series up to which a tick is scored across series
COLUMNS = ["series_id", "ts", "expected", "lower", "upper", "score"]


@dataclass
class _Live:
    scorer: BatchScorer
    row_of: dict[int, int]
    model_ids: dict[int, int]


class ModelCache:
    """Detectors loaded from their artifacts, kept by model id (artifacts never change),
    and the batch scorer built on them."""

    def __init__(self) -> None:
        self._models: dict[int, DetectorModel] = {}
        self._model_ids: dict[int, int] = {}
        self._reader = ModelReader()
        self._lock = threading.Lock()
        self.live: _Live | None = None

    def current(self, store: Store) -> dict[int, DetectorModel]:
        """The model evaluation should use for each series: its latest good fit."""
        rows = store.cursor.execute(
            "SELECT b.series_id, b.model_id, m.artifact_path "
            "FROM baselines b JOIN models m USING (model_id)"
        ).fetchall()
        out: dict[int, DetectorModel] = {}
        with self._lock:
            self._model_ids = {int(series_id): int(model_id) for series_id, model_id, _ in rows}
            current = set(self._model_ids.values())
            for stale in set(self._models) - current:  # replaced by a refit: never used again
                del self._models[stale]
            for series_id, model_id, path in rows:
                if model_id not in self._models:
                    self._models[model_id] = self._reader.load(Path(path))
                out[int(series_id)] = self._models[model_id]
        return out

    def model_ids(self) -> dict[int, int]:
        """Series id → model id, as of the last :meth:`current`."""
        with self._lock:
            return dict(self._model_ids)


def _score_one(
    series_id: int, model: DetectorModel, ts: np.ndarray, values: np.ndarray, since: np.datetime64
) -> pd.DataFrame:
    return score_series(model, ts, values, score_from=since).assign(series_id=series_id)


def _unscored(store: Store, since: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
    return store.df(
        "SELECT s.series_id, s.ts, s.value FROM samples s "
        "ANTI JOIN scores c ON c.series_id = s.series_id AND c.ts = s.ts "
        "WHERE s.ts >= ? AND s.ts < ? AND isfinite(s.value) ORDER BY s.series_id, s.ts",
        [since.to_pydatetime(), until.to_pydatetime()],
    )


def _score_series_by_series(
    store: Store, models: dict[int, DetectorModel], new: pd.DataFrame, until: pd.Timestamp
) -> pd.DataFrame:
    """Long stretches: each series vectorised along time, with a day of context; only the
    new points are returned."""
    since = pd.Timestamp(new["ts"].min())
    wanted = set(new["series_id"].unique().tolist())
    sets = [s for s in training_sets(store, since - CONTEXT, until) if s[0] in wanted]
    points = sum(len(s[1]) for s in sets)
    n_jobs = -1 if points > PARALLEL_ABOVE else 1
    cutoff = np.datetime64(since.as_unit("ns"))
    tasks = (delayed(_score_one)(sid, models[sid], ts, vals, cutoff) for sid, ts, vals in sets)
    frames = [f for f in Parallel(n_jobs=n_jobs)(tasks) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    scored = pd.concat(frames, ignore_index=True)
    scored["ts"] = scored["ts"].astype("datetime64[ns]")
    keys = new[["series_id", "ts"]].assign(ts=as_ns(new["ts"]))
    return scored.merge(keys, on=["series_id", "ts"])[COLUMNS]


def _contexts(
    store: Store, series_ids: np.ndarray, models: dict[int, DetectorModel], ends: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each series' samples in the detector's span before its ``ends`` (exclusive)."""
    spans = np.array([context_span(models[int(s)].step_seconds).value for s in series_ids])
    bounds = pd.DataFrame(
        {
            "series_id": series_ids,
            "lo": (ends - spans.astype("timedelta64[ns]")),
            "hi": ends,
        }
    )
    with store.transaction() as cur:
        cur.register("context_bounds", bounds)
        frame = cur.execute(
            "SELECT s.series_id, s.ts, s.value FROM samples s "
            "JOIN context_bounds b ON s.series_id = b.series_id AND s.ts >= b.lo AND s.ts < b.hi "
            "WHERE isfinite(s.value) ORDER BY s.series_id, s.ts"
        ).df()
        cur.unregister("context_bounds")
    ids = frame["series_id"].to_numpy()
    cuts = np.searchsorted(ids, series_ids)
    ts_all, values_all = as_ns(frame["ts"]), frame["value"].to_numpy(float)
    return [(ts_all[a:b], values_all[a:b]) for a, b in pairwise(np.append(cuts, len(ids)))]


def _live(
    store: Store, cache: ModelCache, models: dict[int, DetectorModel], new: pd.DataFrame,
    until: pd.Timestamp,
) -> _Live:  # fmt: skip
    """The cached batch scorer if it fits the current models and every new point is newer
    than what its row has seen; otherwise one rebuilt from the store."""
    model_ids = cache.model_ids()
    live = cache.live
    if live is not None and live.model_ids == model_ids:
        rows = new["series_id"].map(live.row_of)
        if rows.notna().all():
            seen = live.scorer.last_ts[rows.to_numpy(int)]
            if (as_ns(new["ts"]).astype(np.int64) > seen).all():
                return live
    series_ids = np.array(sorted(models), dtype=np.int64)
    firsts = new.groupby("series_id")["ts"].min()
    ends = as_ns(pd.Series(series_ids).map(firsts).fillna(until))
    contexts = _contexts(store, series_ids, models, ends)
    scorer = BatchScorer.from_context([models[int(s)] for s in series_ids], contexts)
    row_of = {int(s): row for row, s in enumerate(series_ids)}
    cache.live = _Live(scorer, row_of, model_ids)
    return cache.live


def _score_across_series(
    store: Store, cache: ModelCache, models: dict[int, DetectorModel], new: pd.DataFrame,
    until: pd.Timestamp,
) -> pd.DataFrame:  # fmt: skip
    live = _live(store, cache, models, new, until)
    rows = new["series_id"].map(live.row_of).to_numpy(int)
    result = live.scorer.update(rows, as_ns(new["ts"]), new["value"].to_numpy(float))
    return result.assign(series_id=new["series_id"].to_numpy())[COLUMNS]


def score_window(store: Store, cache: ModelCache, since: pd.Timestamp, until: pd.Timestamp) -> int:
    """Score the samples with ts in [since, until) not scored yet, for every series that
    has a model; returns how many were scored."""
    models = cache.current(store)
    new = _unscored(store, since, until)
    new = new[new["series_id"].isin(list(models))]
    if new.empty:
        return 0
    if int(new.groupby("series_id").size().max()) > BATCH_MAX_POINTS:
        scores = _score_series_by_series(store, models, new, until)
        cache.live = None  # its rows have not seen these points
    else:
        scores = _score_across_series(store, cache, models, new, until)
    if scores.empty:
        return 0
    with store.transaction() as cur:
        cur.register("new_scores", scores)
        cur.execute("INSERT OR REPLACE INTO scores SELECT * FROM new_scores")
        cur.unregister("new_scores")
    return len(scores)
