"""Scoring many series a tick at a time gives each series exactly what its detector gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.batch_scoring import BatchScorer
from analytics.detector import DetectorModel, fit_detector, score_series
from tests.analytics.test_detector import DAY, _oscillating, machine_temperature, traffic

HISTORY = 3 * DAY
STREAM = 600  # ten hours of new points per one-minute series


def _estate() -> list[tuple[np.ndarray, np.ndarray]]:
    """Series built to exercise every branch: incidents, gaps, a jittery stretch, a coarser
    step, irregular timestamps, a flat series (no forest), one that starts mid-stream, one
    whose source gets stuck and one that starts to oscillate."""
    series = []
    for seed in range(4):
        ts, values = traffic(4, seed=seed)
        values = values.copy()
        values[HISTORY + 100 + 40 * seed : HISTORY + 130 + 40 * seed] *= 1.8
        series.append((ts, values))
    ts, values = series[1]
    values[HISTORY + 300 : HISTORY + 320] = np.nan  # a gap of twenty minutes
    values[HISTORY + 400 : HISTORY + 420] += np.random.default_rng(1).normal(0, 30, 20)
    coarse_ts, coarse = traffic(4, seed=9)
    series.append((coarse_ts[::5], coarse[::5]))  # five-minute step
    jitter = np.random.default_rng(3).integers(-20, 20, size=len(coarse_ts)) * 1_000_000_000
    series.append((coarse_ts + jitter.astype("timedelta64[ns]"), coarse * 0.5))
    flat_ts, _ = traffic(4)
    series.append((flat_ts, np.full(len(flat_ts), 7.0)))
    late_ts, late = traffic(4, seed=11)
    late = late.copy()
    late[HISTORY - 200 : HISTORY + 60] = np.nan  # no context before the stream
    series.append((late_ts, late))
    stuck_ts, stuck = machine_temperature(4)
    stuck[HISTORY + 300 : HISTORY + 420] = stuck[HISTORY + 300]  # the same reading for 2 h
    series.append((stuck_ts, stuck))
    hunting_ts, hunting = machine_temperature(4)
    series.append((hunting_ts, _oscillating(hunting, HISTORY + 200, 120, 2.5)))  # jitter
    return series


def _split(ts: np.ndarray) -> int:
    return int(np.searchsorted(ts, ts[0] + np.timedelta64(3, "D")))


@pytest.fixture(scope="module")
def estate() -> tuple[list[DetectorModel], list[tuple[np.ndarray, np.ndarray]]]:
    series = _estate()
    models = []
    for ts, values in series:
        cut = _split(ts)
        step = int((ts[1] - ts[0]) / np.timedelta64(1, "s")) if len(ts) > 1 else 60
        history = values[:cut] if np.isfinite(values[:cut]).sum() > 2 else np.arange(cut) * 1.0
        models.append(fit_detector(ts[:cut], history, step_seconds=max(step, 60)))
    return models, series


def _expected(models, series) -> list[pd.DataFrame]:
    out = []
    for model, (ts, values) in zip(models, series, strict=True):
        cut = _split(ts)
        end = cut + STREAM * 60 // model.step_seconds
        out.append(score_series(model, ts[:end], values[:end], score_from=ts[cut]))
    return out


def _long(models, series, seed: int) -> list[pd.DataFrame]:
    """Each series' new points, dealt out over ticks of random size and interleaved."""
    rng = np.random.default_rng(seed)
    ticks: list[list[tuple[int, np.ndarray, np.ndarray]]] = []
    for row, (model, (ts, values)) in enumerate(zip(models, series, strict=True)):
        cut = _split(ts)
        end = cut + STREAM * 60 // model.step_seconds
        edges = np.cumsum(rng.integers(1, 4, size=end - cut))
        edges = edges[edges < end - cut]
        for tick, (t, v) in enumerate(
            zip(np.split(ts[cut:end], edges), np.split(values[cut:end], edges), strict=True)
        ):
            while len(ticks) <= tick:
                ticks.append([])
            ticks[tick].append((row, t, v))
    return [
        pd.DataFrame(
            {
                "row": np.concatenate([np.full(len(t), r) for r, t, _ in tick]),
                "ts": np.concatenate([t for _, t, _ in tick]),
                "value": np.concatenate([v for _, _, v in tick]),
            }
        ).sample(frac=1.0, random_state=seed)  # the scorer must not rely on input order
        for tick in ticks
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_ticks_of_many_series_equal_each_series_scored_alone(estate, seed) -> None:
    models, series = estate
    contexts = [(ts[: _split(ts)], values[: _split(ts)]) for ts, values in series]
    scorer = BatchScorer.from_context(models, contexts)
    parts = []
    for tick in _long(models, series, seed):
        result = scorer.update(tick["row"], tick["ts"], tick["value"])
        np.testing.assert_array_equal(result["ts"].to_numpy(), tick["ts"].to_numpy())
        parts.append(result)
    got = pd.concat(parts, ignore_index=True)
    for row, expected in enumerate(_expected(models, series)):
        mine = got[(got["row"] == row) & got["value"].notna()].sort_values("ts")
        np.testing.assert_array_equal(mine["ts"].to_numpy(), expected["ts"].to_numpy())
        for column in ("expected", "lower", "upper", "score"):
            np.testing.assert_allclose(
                mine[column].to_numpy(), expected[column].to_numpy(), rtol=1e-9, atol=1e-12,
                equal_nan=True, err_msg=f"row {row} {column}",
            )  # fmt: skip
    gaps = got["value"].isna()
    assert gaps.any() and got.loc[gaps, ["expected", "score"]].isna().all().all()
    incidents = got[
        (got["row"] == 0) & got["ts"].between(*series[0][0][[HISTORY + 100, HISTORY + 129]])
    ]
    assert incidents["score"].max() >= 0.9  # and the point of it all: incidents are seen
    stuck_ts = series[-2][0]
    stuck = got[(got["row"] == len(series) - 2) & (got["ts"] >= stuck_ts[HISTORY + 330])]
    assert stuck["score"].head(60).min() >= 0.9
    hunting_ts = series[-1][0]
    hunting = got[(got["row"] == len(series) - 1) & (got["ts"] >= hunting_ts[HISTORY + 200])]
    assert hunting["score"].max() >= 0.9


def test_a_point_that_does_not_move_forward_is_refused_and_changes_nothing(estate) -> None:
    models, series = estate
    contexts = [(ts[:HISTORY], values[:HISTORY]) for ts, values in series[:2]]
    scorer = BatchScorer.from_context(models[:2], contexts)
    ts0, values0 = series[0]
    before = scorer.last_ts.copy()
    with pytest.raises(ValueError, match=r"row 1: point at .* is not newer"):
        scorer.update(
            np.array([0, 1]), np.array([ts0[HISTORY], series[1][0][HISTORY - 1]]),
            np.array([values0[HISTORY], 1.0]),
        )  # fmt: skip
    np.testing.assert_array_equal(scorer.last_ts, before)
    again = scorer.update(np.array([0]), ts0[HISTORY : HISTORY + 1], values0[HISTORY : HISTORY + 1])
    alone = score_series(models[0], ts0[: HISTORY + 1], values0[: HISTORY + 1], ts0[HISTORY])
    assert again["score"].iloc[0] == pytest.approx(alone["score"].iloc[0], rel=1e-9)


def test_rows_and_points_must_be_alike(estate) -> None:
    models, series = estate
    scorer = BatchScorer.from_context(models[:1], [(series[0][0][:10], series[0][1][:10])])
    with pytest.raises(ValueError, match=r"rows must be in \[0, 1\)"):
        scorer.update(np.array([1]), series[0][0][10:11], series[0][1][10:11])
    with pytest.raises(ValueError, match="2 models but 1 contexts"):
        BatchScorer.from_context(models[:2], [(series[0][0][:10], series[0][1][:10])])
