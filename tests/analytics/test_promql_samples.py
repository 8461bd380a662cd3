"""The sample layout PromQL lookups run on: instant values with the lookback, windows of
range selectors, and prefix sums that stay exact where Prometheus' answers are exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.promql import SampleSet

MINUTE = 60_000


def minutes(*values: float) -> np.ndarray:
    return (np.asarray(values, dtype=float) * MINUTE).astype(np.int64)


def one_row(ts: np.ndarray, values: list[float]) -> SampleSet:
    return SampleSet.from_arrays(np.zeros(len(ts), dtype=np.int64), ts, np.array(values), 1)


def instant(samples: SampleSet, at: np.ndarray, lookback_ms: int = 300_000,
            left_closed: bool = False) -> np.ndarray:  # fmt: skip
    return samples.values_at(samples.latest(np.array([0]), at, lookback_ms, left_closed))[0]


def test_instant_value_is_the_latest_sample_within_the_lookback() -> None:
    samples = one_row(minutes(0, 1.5, 10), [1.0, 2.0, 3.0])
    expected = [1, 1, 2, 2, 2, 2, 2, np.nan, np.nan, np.nan, 3, 3, 3, 3, 3, np.nan, np.nan]
    np.testing.assert_array_equal(instant(samples, minutes(*range(17))), expected)


def test_lookback_is_left_open_unless_asked_to_include_its_edge() -> None:
    samples = one_row(minutes(0), [1.0])
    np.testing.assert_array_equal(instant(samples, minutes(*range(6))), [1, 1, 1, 1, 1, np.nan])
    np.testing.assert_array_equal(
        instant(samples, minutes(*range(7)), left_closed=True), [1, 1, 1, 1, 1, 1, np.nan]
    )


def test_nan_values_are_not_samples() -> None:
    samples = one_row(minutes(0, 2, 3), [1.0, np.nan, np.nan])
    np.testing.assert_array_equal(
        instant(samples, minutes(*range(7))), [1, 1, 1, 1, 1, np.nan, np.nan]
    )


def test_before_the_first_sample_and_without_samples_there_is_nothing() -> None:
    np.testing.assert_array_equal(instant(one_row(minutes(3), [7.0]), minutes(*range(5))),
                                  [np.nan, np.nan, np.nan, 7, 7])  # fmt: skip
    assert np.isnan(instant(SampleSet.empty(1), minutes(0, 1, 2))).all()


def test_rows_never_see_each_others_samples() -> None:
    rows = np.array([0, 0, 2])  # row 1 has no samples at all
    samples = SampleSet.from_arrays(rows, minutes(0, 1, 0), np.array([1.0, 2.0, 9.0]), 3)
    index = samples.latest(np.array([0, 1, 2]), minutes(0, 1, 2), 300_000, False)
    values = samples.values_at(index)
    np.testing.assert_array_equal(values, [[1, 2, 2], [np.nan] * 3, [9, 9, 9]])


def test_windows_follow_the_range_and_its_edge() -> None:
    samples = one_row(minutes(0, 1, 2, 3, 4), [1.0, 2.0, 3.0, 4.0, 5.0])
    lo, hi = samples.window(np.array([0]), minutes(4), 2 * MINUTE, left_closed=False)
    assert (lo[0, 0], hi[0, 0]) == (3, 5)  # (2m, 4m]: the samples at 3m and 4m
    lo, hi = samples.window(np.array([0]), minutes(4), 2 * MINUTE, left_closed=True)
    assert (lo[0, 0], hi[0, 0]) == (2, 5)  # [2m, 4m]


def test_unsorted_input_is_put_in_row_and_time_order() -> None:
    samples = SampleSet.from_arrays(np.array([1, 0, 1, 0]), minutes(2, 1, 1, 0),
                                    np.array([4.0, 2.0, 3.0, 1.0]), 2)  # fmt: skip
    np.testing.assert_array_equal(samples.values, [1, 2, 3, 4])
    np.testing.assert_array_equal(samples.starts, [0, 2, 4])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.floats(-1e9, 1e9, allow_nan=False), max_size=30), min_size=1, max_size=5),
    st.data(),
)
def test_window_totals_equal_direct_sums(rows: list[list[float]], data: st.DataObject) -> None:
    """Prefix sums restart at every row: a window's total is its own samples' sum, with
    an error relative to that row's size, not to every row before it."""
    row = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)]).astype(np.int64)
    ts = np.concatenate([np.arange(len(r)) for r in rows]).astype(np.int64) * MINUTE
    values = np.concatenate([np.asarray(r, dtype=float) for r in rows])
    samples = SampleSet.from_arrays(row, ts, values, len(rows))
    pick = data.draw(st.integers(0, len(rows) - 1))
    length = len(rows[pick])
    a = data.draw(st.integers(0, length))
    b = data.draw(st.integers(a, length))
    start = samples.starts[pick]
    lo, hi = np.array([[start + a]]), np.array([[start + b]])
    got = samples.window_total("dv", np.array([pick]), lo, hi)[0, 0]
    direct = sum(v - rows[pick][0] for v in rows[pick][a:b]) if length else 0.0
    scale = sum(abs(v - rows[pick][0]) for v in rows[pick]) + 1.0
    assert got == pytest.approx(direct, abs=1e-9 * scale)


def test_a_window_with_an_infinity_is_summed_on_its_own() -> None:
    samples = one_row(minutes(0, 1, 2), [1.0, np.inf, 2.0])
    lo, hi = np.array([[0, 2]]), np.array([[2, 3]])
    totals = samples.window_total("value", np.array([0]), lo, hi)
    np.testing.assert_array_equal(totals, [[np.inf, 2.0]])


def test_long_and_short_time_axes_find_the_same_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a long axis lookups search series by series; they must agree with the
    placement used on short ones, windows included."""
    from analytics.promql import samples as module

    rng = np.random.default_rng(4)
    rows = rng.integers(0, 5, 3000)
    ts = rng.integers(0, 900, 3000) * 20_000  # irregular, shared times, gaps
    values = rng.normal(size=3000)
    samples = SampleSet.from_arrays(rows, ts, values, 6)  # row 5 has no samples
    at = np.arange(0, 900 * 20_000, 30_000)
    assert len(at) >= module.LONG_AXIS
    picked = np.array([4, 0, 5, 2])
    long = (samples.latest(picked, at, 300_000, False), *samples.window(picked, at, 90_000, True))
    monkeypatch.setattr(module, "LONG_AXIS", 10**9)
    short = (samples.latest(picked, at, 300_000, False), *samples.window(picked, at, 90_000, True))
    for a, b in zip(long, short, strict=True):
        np.testing.assert_array_equal(a, b)
