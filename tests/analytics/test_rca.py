"""Root-cause ranking on synthetic windows: causes before symptoms, onsets where they are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.rca import (
    STRENGTH_CAP,
    RcaParams,
    change_points,
    rank_root_causes,
    upstream_closure,
)

START = pd.Timestamp("2025-03-03 10:00")
STEP = pd.Timedelta(minutes=1)
N = 60
END = START + (N - 1) * STEP
GRAPH = {"gateway": ("orders",), "orders": ("db",), "db": ()}


def _series(
    rng: np.random.Generator, onset: int | None, shift: float, peak: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit noise around 10 with a step of ``shift`` at ``onset``; the score is low before
    the step and ``peak`` from two points after it (online scores lag a little)."""
    values = 10 + rng.standard_normal(N)
    scores = rng.uniform(0.0, 0.6, N)
    if onset is not None:
        values[onset:] += shift
        scores[onset + 2 :] = peak
    return values, scores


def _window(
    series: dict[str, tuple[str, np.ndarray, np.ndarray]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points and info frames for ``{key: (service, values, scores)}``; NaN values are
    missing samples."""
    ts = START + STEP * np.arange(N)
    parts, info = [], []
    for sid, (key, (service, values, scores)) in enumerate(series.items(), start=1):
        keep = ~np.isnan(values)
        parts.append(pd.DataFrame({"series_id": sid, "ts": ts[keep], "value": values[keep],
                                   "score": scores[keep]}))  # fmt: skip
        info.append((sid, key, key.split("{")[0], service))
    return pd.concat(parts, ignore_index=True), pd.DataFrame(
        info, columns=["series_id", "series_key", "metric", "service"]
    )


def test_upstream_change_earlier_than_its_callers_ranks_first() -> None:
    rng = np.random.default_rng(1)
    points, info = _window({
        "latency{svc=gateway}": ("gateway", *_series(rng, 40, 8)),
        "latency{svc=orders}": ("orders", *_series(rng, 35, 8)),
        "query_time{svc=db}": ("db", *_series(rng, 30, 8)),
        "cpu{svc=db}": ("db", *_series(rng, None, 0)),
    })  # fmt: skip
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    assert [s.service for s in ranking.services] == ["db", "orders", "gateway"]
    db = ranking.services[0]
    assert db.onset == START + 30 * STEP
    assert set(db.upstream_of) == {"orders", "gateway"}
    assert "upstream of" in db.reason and "orders" in db.reason
    assert ranking.services[1].downstream_of == ("db",)
    assert ranking.series[0].series_key == "query_time{svc=db}"
    assert [s.rank for s in ranking.series] == [1, 2, 3]  # the quiet cpu series is no candidate


def test_a_stronger_later_symptom_does_not_outrank_an_earlier_upstream_cause() -> None:
    rng = np.random.default_rng(2)
    points, info = _window({
        "errors{svc=orders}": ("orders", *_series(rng, 33, 40, peak=1.0)),
        "query_time{svc=db}": ("db", *_series(rng, 30, 4, peak=0.93)),
    })  # fmt: skip
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    orders = next(s for s in ranking.services if s.service == "orders")
    db = next(s for s in ranking.services if s.service == "db")
    assert orders.strength > db.strength and orders.score > db.score
    assert ranking.services[0].service == "db"


def test_a_service_that_calls_the_earlier_one_is_a_symptom_even_when_it_is_louder() -> None:
    """Without the graph the louder series would win a tie on onset; with it, the callee does."""
    rng = np.random.default_rng(3)
    series = {
        "errors{svc=orders}": ("orders", *_series(rng, 30, 40)),
        "query_time{svc=db}": ("db", *_series(rng, 30, 5)),
    }
    points, info = _window(series)
    assert rank_root_causes(points, info, {}, end=END).services[0].service == "orders"
    assert rank_root_causes(points, info, GRAPH, end=END).services[0].service == "db"


def test_a_silent_series_is_a_candidate_from_its_last_sample() -> None:
    rng = np.random.default_rng(4)
    values, scores = _series(rng, None, 0)
    values[50:] = np.nan
    points, info = _window({
        "up{host=db-1}": ("db", values, scores),
        "latency{svc=orders}": ("orders", *_series(rng, None, 0)),
    })  # fmt: skip
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    assert [s.service for s in ranking.services] == ["db"]
    silent = ranking.series[0]
    assert silent.silent and silent.onset == START + 50 * STEP
    assert silent.score == 1.0 and silent.strength == STRENGTH_CAP
    assert "stopped reporting" in ranking.services[0].reason


def test_a_series_silent_for_the_whole_window_counts_from_when_it_was_last_seen() -> None:
    rng = np.random.default_rng(5)
    points, info = _window({"latency{svc=orders}": ("orders", *_series(rng, None, 0))})
    gone = pd.DataFrame({"series_id": [2], "series_key": ["up{host=db-1}"], "metric": ["up"],
                         "service": ["db"], "last_seen": [START - 5 * STEP]})  # fmt: skip
    info = pd.concat([info.assign(last_seen=pd.NaT), gone], ignore_index=True)
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    assert [(s.series_key, s.onset) for s in ranking.series] == [
        ("up{host=db-1}", START - 4 * STEP)
    ]


def test_no_anomaly_gives_an_empty_ranking() -> None:
    rng = np.random.default_rng(6)
    quiet = {f"m{i}{{svc={s}}}": (s, *_series(rng, None, 0)) for i, s in enumerate(GRAPH)}
    key = next(iter(quiet))
    quiet[key][2][20] = 0.97  # one anomalous point is a blip, not an anomaly
    points, info = _window(quiet)
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    assert ranking.services == [] and ranking.series == []
    empty = rank_root_causes(points.iloc[0:0], info, GRAPH, end=END)
    assert empty.services == [] and empty.series == []


def test_change_points_find_a_step_within_two_points() -> None:
    """Vectorised over many series at once: steps of 3 to 8 noise units anywhere in the
    window, away from its very edges."""
    rng = np.random.default_rng(7)
    n_series = 400
    truth = rng.integers(5, N - 5, n_series)
    shift = rng.uniform(3, 8, n_series) * rng.choice([-1, 1], n_series)
    matrix = rng.standard_normal((n_series, N)) * 2.0 + 100
    matrix += np.where(np.arange(N)[None, :] >= truth[:, None], shift[:, None] * 2.0, 0.0)
    found = change_points(matrix)
    error = np.abs(found.index - truth)
    assert np.mean(error <= 2) >= 0.97
    assert np.all(np.sign(found.shift) == np.sign(shift))
    assert np.median(np.abs(found.shift) / np.abs(shift)) == pytest.approx(1.0, abs=0.25)


def test_change_points_are_not_significant_in_pure_noise_and_tolerate_gaps() -> None:
    rng = np.random.default_rng(8)
    noise = rng.standard_normal((300, N))
    assert np.quantile(change_points(noise).z, 0.99) < RcaParams().min_z
    gappy = noise[:1].copy()
    gappy[0, 30:] += 10
    gappy[0, [5, 29, 31, 44]] = np.nan
    assert change_points(gappy).index[0] in (30, 31)


def test_a_ramp_starts_where_its_anomalous_run_starts() -> None:
    """A ramp's best mean split lies in its middle; the scores move the onset back."""
    rng = np.random.default_rng(9)
    values = 10 + 0.2 * rng.standard_normal(N)
    values[20:] += np.linspace(0, 12, N - 20)
    scores = np.where(np.arange(N) >= 22, 0.99, 0.1)
    points, info = _window({"memory{host=orders-1}": ("orders", values, scores)})
    candidate = rank_root_causes(points, info, GRAPH, end=END).series[0]
    assert candidate.change_point is not None and candidate.change_point > START + 25 * STEP
    assert candidate.onset == START + 22 * STEP


def test_onsets_within_tolerance_tie_and_strength_decides() -> None:
    rng = np.random.default_rng(10)
    points, info = _window({
        "a{svc=billing}": ("billing", *_series(rng, 30, 3, peak=0.95)),
        "b{svc=search}": ("search", *_series(rng, 31, 12, peak=0.99)),
    })  # fmt: skip
    ranking = rank_root_causes(points, info, {}, end=END)
    assert [s.service for s in ranking.services] == ["search", "billing"]


def test_series_without_a_service_are_grouped_not_dropped() -> None:
    rng = np.random.default_rng(11)
    points, info = _window({"temp{room=1}": (None, *_series(rng, 30, 8))})
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    assert ranking.services[0].service == "other"
    assert ranking.series[0].service is None


def test_upstream_closure_is_transitive_and_survives_cycles() -> None:
    closure = upstream_closure({"a": ("b",), "b": ("c",), "c": ("a",), "d": ("a",)})
    assert closure["d"] == {"a", "b", "c"}
    assert closure["a"] >= {"b", "c"}
    assert upstream_closure(GRAPH)["gateway"] == {"orders", "db"}


def test_missing_columns_are_a_clear_error() -> None:
    rng = np.random.default_rng(12)
    points, info = _window({"a{svc=db}": ("db", *_series(rng, 30, 8))})
    with pytest.raises(ValueError, match="score"):
        rank_root_causes(points.drop(columns="score"), info, GRAPH, end=END)


def test_a_change_point_the_scores_do_not_confirm_does_not_set_the_onset() -> None:
    """Drift the baseline expects moves the best split; the anomaly is where scores say."""
    rng = np.random.default_rng(13)
    values = 10 + np.linspace(0, 20, N) + 0.2 * rng.standard_normal(N)
    scores = np.where(np.arange(N) >= 48, 0.99, 0.2)
    points, info = _window({"rate{svc=db}": ("db", values, scores)})
    candidate = rank_root_causes(points, info, GRAPH, end=END).series[0]
    assert candidate.change_point is not None and candidate.change_point < START + 40 * STEP
    assert candidate.onset == START + 48 * STEP


@settings(max_examples=40, deadline=None)
@given(
    onsets=st.lists(st.integers(5, 50), min_size=3, max_size=3),
    shifts=st.lists(st.floats(3, 40), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_no_service_ranks_above_an_upstream_one_that_began_no_later(
    onsets: list[int], shifts: list[float], seed: int
) -> None:
    """Whatever the strengths: along gateway → orders → db, a service whose upstream went
    wrong first (or at the same time) ranks below it."""
    rng = np.random.default_rng(seed)
    names = ["gateway", "orders", "db"]
    series = {
        f"m{{svc={name}}}": (name, *_series(rng, onset, shift))
        for name, onset, shift in zip(names, onsets, shifts, strict=True)
    }
    points, info = _window(series)
    ranking = rank_root_causes(points, info, GRAPH, end=END)
    rank = {s.service: s.rank for s in ranking.services}
    onset = {s.service: s.onset for s in ranking.services}
    upstream = upstream_closure(GRAPH)
    for service in rank:
        for cause in upstream[service] & set(rank):
            if onset[cause] <= onset[service]:
                assert rank[cause] < rank[service], (onset, rank)
