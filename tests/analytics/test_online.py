"""The online detector: update() equals scoring everything at once, state survives a reload."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.detector import score_series
from analytics.online import OnlineDetector, context_span
from tests.analytics.test_detector import DAY, traffic

HISTORY = 7 * DAY


@pytest.fixture(scope="module")
def series() -> tuple[np.ndarray, np.ndarray]:
    ts, values = traffic(8, seed=4)
    values = values.copy()
    values[HISTORY + 300 : HISTORY + 330] *= 1.8  # an incident in the streamed day
    values[HISTORY + 700 : HISTORY + 710] = np.nan  # and a gap
    return ts, values


@pytest.fixture(scope="module")
def fitted(series: tuple[np.ndarray, np.ndarray]) -> bytes:
    ts, values = series
    return OnlineDetector().fit(ts[:HISTORY], values[:HISTORY]).to_bytes()


def stream(detector: OnlineDetector, ts: np.ndarray, values: np.ndarray, seed: int) -> pd.DataFrame:
    """Feed points in random chunks of 1 to 90, as ticks of a scheduler would."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, 90, size=len(ts)))
    cuts = cuts[cuts < len(ts)]
    chunks = zip(np.split(ts, cuts), np.split(values, cuts), strict=True)
    parts = [detector.update(t, v) for t, v in chunks]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_updates_in_any_chunks_equal_scoring_the_whole_series(series, fitted, seed) -> None:
    ts, values = series
    detector = OnlineDetector.from_bytes(fitted)
    online = stream(detector, ts[HISTORY:], values[HISTORY:], seed)
    batch = score_series(detector.model, ts, values, score_from=ts[HISTORY])
    assert len(online) == len(ts) - HISTORY  # one row per point, gaps included
    finite = online["value"].notna().to_numpy()
    assert online.loc[~finite, ["expected", "score"]].isna().all().all()
    got = online[finite].reset_index(drop=True)
    np.testing.assert_array_equal(got["ts"].to_numpy(), batch["ts"].to_numpy())
    for column in ("expected", "lower", "upper", "score"):
        np.testing.assert_allclose(got[column], batch[column], rtol=1e-9, equal_nan=True)
    assert got["score"].iloc[300:330].max() >= 0.9  # and the incident is seen


def test_state_reloaded_mid_stream_continues_identically(series, fitted) -> None:
    ts, values = series
    first, second = OnlineDetector.from_bytes(fitted), OnlineDetector.from_bytes(fitted)
    a = HISTORY + 500
    first.update(ts[HISTORY:a], values[HISTORY:a])
    second.update(ts[HISTORY:a], values[HISTORY:a])
    reloaded = OnlineDetector.from_bytes(second.to_bytes())
    pd.testing.assert_frame_equal(
        first.update(ts[a : a + 200], values[a : a + 200]),
        reloaded.update(ts[a : a + 200], values[a : a + 200]),
    )


def test_the_state_is_bounded_by_the_context_it_needs(series, fitted) -> None:
    ts, values = series
    detector = OnlineDetector.from_bytes(fitted)
    detector.update(ts[HISTORY:], values[HISTORY:])
    kept = detector._fitted().ts
    assert kept[-1] - kept[0] <= context_span(60).to_timedelta64()
    # what streaming adds to the model artifact is the context: a few hundred points
    assert len(detector.to_bytes()) - len(detector.model.to_bytes()) < 20_000


def test_points_that_do_not_move_forward_are_refused_and_change_nothing(series, fitted) -> None:
    ts, values = series
    detector, clean = OnlineDetector.from_bytes(fitted), OnlineDetector.from_bytes(fitted)
    with pytest.raises(ValueError, match="not newer than the last one seen"):
        detector.update(ts[HISTORY - 1 : HISTORY + 5], values[HISTORY - 1 : HISTORY + 5])
    with pytest.raises(ValueError, match="strictly increasing"):
        detector.update(ts[HISTORY : HISTORY + 5][::-1], values[HISTORY : HISTORY + 5])
    with pytest.raises(ValueError, match="1-D and alike"):
        detector.update(ts[HISTORY : HISTORY + 5], values[HISTORY : HISTORY + 4])
    nxt = slice(HISTORY, HISTORY + 60)
    pd.testing.assert_frame_equal(
        detector.update(ts[nxt], values[nxt]), clean.update(ts[nxt], values[nxt])
    )


def test_an_unfitted_detector_and_foreign_bytes_get_clear_errors(fitted) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        OnlineDetector().update(np.array([], dtype="datetime64[ns]"), np.array([]))
    with pytest.raises(ValueError, match="not a Vigil online detector state"):
        OnlineDetector.from_bytes(b"garbage")
    newer = fitted[:8] + (99).to_bytes(2, "big") + fitted[10:]
    with pytest.raises(ValueError, match="format 99"):
        OnlineDetector.from_bytes(newer)
