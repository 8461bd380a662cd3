from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.lifecycle import episodes

STEP = 60
T0 = np.datetime64("2024-03-01T00:00:00", "ns")


def grid(n: int, step: int = STEP) -> np.ndarray:
    return T0 + np.arange(n) * np.timedelta64(step, "s")


def at(minute: float) -> np.datetime64:
    return T0 + np.timedelta64(int(minute * 60), "s")


def run(pattern: str, for_s: int = 0, keep_s: int = 0) -> pd.DataFrame:
    """Episodes of one series whose condition is ``pattern`` ('1' true, '.' false)."""
    active = np.array([[c == "1" for c in pattern]])
    values = np.arange(len(pattern), dtype=float)[None, :]
    return episodes(grid(len(pattern)), active, values, for_s, keep_s)


def rows(found: pd.DataFrame) -> list[tuple]:
    """(state, active, fired, resolved, last eval) in minutes; None for NaT."""

    def minute(value: object) -> float | None:
        return None if pd.isna(value) else (pd.Timestamp(value) - pd.Timestamp(T0)).seconds / 60

    return [
        (e.state, minute(e.active_at), minute(e.fired_at), minute(e.resolved_at),
         minute(e.last_eval_at), e.value)
        for e in found.itertuples()
    ]  # fmt: skip


# --- hand-worked examples --------------------------------------------------------------


def test_for_zero_fires_at_first_true_evaluation_and_resolves_at_first_false() -> None:
    assert rows(run("..11..")) == [("resolved", 2, 2, 4, 4, 3.0)]


def test_for_two_intervals_fires_after_two_intervals_pending() -> None:
    assert rows(run(".1111.", for_s=120)) == [("resolved", 1, 3, 5, 5, 4.0)]


def test_for_not_a_multiple_of_the_interval_fires_at_the_next_evaluation() -> None:
    assert rows(run(".1111.", for_s=90)) == [("resolved", 1, 3, 5, 5, 4.0)]


def test_pending_alert_that_goes_false_is_dropped() -> None:
    assert rows(run(".11...", for_s=180)) == [("inactive", 1, None, None, 2, 2.0)]


def test_pending_alert_is_dropped_even_with_keep_firing_for() -> None:
    found = run(".11.11111", for_s=120, keep_s=600)
    assert rows(found) == [
        ("inactive", 1, None, None, 2, 2.0),
        ("firing", 4, 6, None, 8, 8.0),
    ]


def test_keep_firing_for_bridges_a_short_gap() -> None:
    # Last true at 2, first false at 3: keeps firing at 3, 4 (t - 3m < 3m); true again at 5.
    # Last true at 7, first false at 8: keeps firing at 8, 9, 10; resolved at 11.
    assert rows(run("111..111....", keep_s=180)) == [("resolved", 0, 0, 11, 11, 7.0)]


def test_keep_firing_for_counts_from_the_first_false_evaluation() -> None:
    # First false at 3; still firing at 3, 4, 5 (t - 3m < 3m); resolved at 6.
    assert rows(run("111.....", keep_s=180)) == [("resolved", 0, 0, 6, 6, 2.0)]
    # A keep_firing_for shorter than the interval still keeps the first false evaluation.
    assert rows(run("111.....", keep_s=1)) == [("resolved", 0, 0, 4, 4, 2.0)]


def test_gap_longer_than_keep_firing_for_gives_two_episodes() -> None:
    assert rows(run("11.....11...", keep_s=120)) == [
        ("resolved", 0, 0, 4, 4, 1.0),
        ("resolved", 7, 7, 11, 11, 8.0),
    ]


def test_resolved_then_refiring_gives_two_episodes() -> None:
    assert rows(run("111..111..", for_s=60)) == [
        ("resolved", 0, 1, 3, 3, 2.0),
        ("resolved", 5, 6, 8, 8, 7.0),
    ]


def test_short_blip_inside_keep_firing_keeps_the_alert_even_if_it_would_not_fire_alone() -> None:
    assert rows(run("111..1......", for_s=120, keep_s=180)) == [("resolved", 0, 2, 9, 9, 5.0)]


def test_alerts_open_at_the_end_keep_their_state() -> None:
    assert rows(run("...111", for_s=60)) == [("firing", 3, 4, None, 5, 5.0)]
    assert rows(run("....11", for_s=300)) == [("pending", 4, None, None, 5, 5.0)]
    assert rows(run("111...", keep_s=600)) == [("firing", 0, 0, None, 5, 2.0)]


def test_many_series_at_once() -> None:
    active = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=bool)
    values = np.array([[5.0, 6, 7, 8], [1, 1, 1, 1], [9, 8, 7, 6]])
    found = episodes(grid(4), active, values, 0, 0)
    assert list(found["series_idx"]) == [0, 2]
    assert list(found["state"]) == ["resolved", "firing"]
    assert list(found["value"]) == [6.0, 6.0]


def test_no_episodes_gives_typed_empty_frame() -> None:
    found = episodes(grid(5), np.zeros((3, 5), dtype=bool), np.zeros((3, 5)), 60, 60)
    assert found.empty
    assert list(found.columns) == [
        "series_idx", "state", "active_at", "fired_at", "resolved_at", "last_eval_at", "value",
    ]  # fmt: skip
    assert found["active_at"].dtype == "datetime64[ns]"


def test_irregular_grid_uses_times_not_counts() -> None:
    times = T0 + np.array([0, 60, 120, 600, 660], dtype="timedelta64[s]")
    found = episodes(times, np.ones((1, 5), dtype=bool), np.ones((1, 5)), 300, 0)
    assert found["fired_at"].iloc[0] == pd.Timestamp(times[3])


# --- property: agrees with a step-by-step Prometheus state machine -----------------------


def reference(times: np.ndarray, active: np.ndarray, values: np.ndarray, for_s: int, keep_s: int):
    """A literal transcription of Prometheus' AlertingRule.Eval for one series."""
    out, alert = [], None
    for_ns, keep_ns = for_s * 10**9, keep_s * 10**9
    for t, true, value in zip(times.astype(np.int64), active, values, strict=True):
        if true:
            if alert is None:
                alert = {"state": "pending", "active": t, "fired": None, "since": None}
            alert.update(value=value, last_true=t, since=None)
            if alert["state"] == "pending" and t - alert["active"] >= for_ns:
                alert.update(state="firing", fired=t)
            continue
        if alert is None:
            continue
        if alert["state"] == "firing" and keep_ns > 0:
            alert["since"] = t if alert["since"] is None else alert["since"]
            if t - alert["since"] < keep_ns:
                continue
        if alert["state"] == "pending":
            out.append(
                ("inactive", alert["active"], None, None, alert["last_true"], alert["value"])
            )
        else:
            out.append(("resolved", alert["active"], alert["fired"], t, t, alert["value"]))
        alert = None
    if alert is not None:
        end = int(times.astype(np.int64)[-1])
        out.append((alert["state"], alert["active"], alert["fired"], None, end, alert["value"]))
    return out


def as_tuples(found: pd.DataFrame) -> list[tuple]:
    def ns(value: object) -> int | None:
        return None if pd.isna(value) else pd.Timestamp(value).value

    return [
        (e.state, ns(e.active_at), ns(e.fired_at), ns(e.resolved_at), ns(e.last_eval_at), e.value)
        for e in found.itertuples()
    ]


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.lists(st.lists(st.booleans(), min_size=1, max_size=30), min_size=1, max_size=4),
    steps=st.lists(st.sampled_from([30, 60, 60, 60, 90]), min_size=30, max_size=30),
    for_s=st.sampled_from([0, 30, 60, 120, 150, 300]),
    keep_s=st.sampled_from([0, 1, 60, 90, 120, 300]),
)
def test_episodes_match_prometheus_state_machine(
    pattern: list[list[bool]], steps: list[int], for_s: int, keep_s: int
) -> None:
    width = min(len(p) for p in pattern)
    active = np.array([p[:width] for p in pattern])
    times = T0 + np.cumsum([0, *steps[: width - 1]]).astype("timedelta64[s]")
    values = np.random.default_rng(width).normal(size=active.shape)
    found = episodes(times, active, values, for_s, keep_s)
    for series in range(len(active)):
        mine = as_tuples(found.loc[found["series_idx"] == series])
        assert mine == reference(times, active[series], values[series], for_s, keep_s)
