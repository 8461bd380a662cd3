"""The demo estate: deterministic, window-independent, realistic, and its incidents are real."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from vigil.labels import series_key
from vigil.sources.demo import DEPENDENCIES, KINDS, SERVICES, DemoEstate, DemoIncident

START = pd.Timestamp("2025-03-03")  # a Monday
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def estate() -> DemoEstate:
    return DemoEstate(seed=1)


@pytest.fixture(scope="module")
def fortnight(estate: DemoEstate) -> list[DemoIncident]:
    return estate.incidents(START, START + 14 * DAY)


def _of_kind(incidents: list[DemoIncident], kind: str) -> list[DemoIncident]:
    found = [i for i in incidents if i.kind == kind]
    assert found, f"no {kind} incident in the fortnight"
    return found


def _values(frame: pd.DataFrame, key: str, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    rows = frame[(frame["series_key"] == key) & (frame["ts"] >= start) & (frame["ts"] < end)]
    return rows["value"].to_numpy()


def _neighbour_mean(frame: pd.DataFrame, key: str, inc: DemoIncident) -> float:
    before = _values(frame, key, inc.start - HOUR, inc.start)
    after = _values(frame, key, inc.end, inc.end + HOUR)
    return float(np.mean(np.r_[before, after]))


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_samples() -> None:
    window = (START + 5 * HOUR, START + 11 * HOUR)
    first = DemoEstate(seed=3).samples(*window)
    second = DemoEstate(seed=3).samples(*window)
    pd.testing.assert_frame_equal(first, second)
    assert DemoEstate(seed=3).incidents(START, START + 3 * DAY) == DemoEstate(seed=3).incidents(
        START, START + 3 * DAY
    )


def test_different_seed_gives_different_values() -> None:
    window = (START + 5 * HOUR, START + 6 * HOUR)
    one = DemoEstate(seed=1).samples(*window).set_index(["series_key", "ts"])["value"]
    two = DemoEstate(seed=2).samples(*window).set_index(["series_key", "ts"])["value"]
    common = one.index.intersection(two.index)
    assert len(common) > 1000
    assert not np.allclose(one[common].to_numpy(), two[common].to_numpy())


def test_split_window_equals_whole_window(estate: DemoEstate) -> None:
    a = START + 3 * HOUR
    b = a + pd.Timedelta(days=1, hours=5, minutes=17, seconds=20)  # off the day and step grid
    c = b + pd.Timedelta(hours=20)
    whole = estate.samples(a, c)
    parts = pd.concat([estate.samples(a, b), estate.samples(b, c)])
    parts = parts.sort_values(["series_key", "ts"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.reset_index(drop=True), parts)


def test_incidents_do_not_depend_on_the_window(estate: DemoEstate, fortnight) -> None:
    middle = START + pd.Timedelta(days=6, hours=13, minutes=7)
    halves = estate.incidents(START, middle) + estate.incidents(middle, START + 14 * DAY)
    assert list({i.incident_id: i for i in halves}.values()) == fortnight
    assert DemoEstate(seed=1).incidents(START, START + 14 * DAY) == fortnight


# -- shape of the output -----------------------------------------------------------------


def test_samples_sit_on_the_step_grid_in_a_half_open_window() -> None:
    estate = DemoEstate(seed=1, step_seconds=30)
    frame = estate.samples(START + pd.Timedelta(seconds=10), START + pd.Timedelta(minutes=10))
    assert list(frame.columns) == ["series_key", "ts", "value"]
    assert frame["ts"].dtype == np.dtype("datetime64[ns]")
    assert frame["value"].dtype == np.float64
    assert frame["ts"].min() == START + pd.Timedelta(seconds=30)
    assert frame["ts"].max() == START + pd.Timedelta(minutes=9, seconds=30)
    assert (frame["ts"].astype("int64") % 30_000_000_000 == 0).all()
    expected = frame.sort_values(["series_key", "ts"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert estate.samples(START, START).empty


def test_tz_aware_bounds_match_naive_utc(estate: DemoEstate) -> None:
    naive = estate.samples(START, START + HOUR)
    aware = estate.samples(
        pd.Timestamp("2025-03-03 01:00", tz="Europe/Paris"), START.tz_localize("UTC") + HOUR
    )
    pd.testing.assert_frame_equal(naive, aware)


def test_catalog_is_a_realistic_estate(estate: DemoEstate) -> None:
    series = estate.series()
    assert 60 <= len(series) <= 150
    assert len({s.host for s in series}) >= 8
    assert len({s.key for s in series}) == len(series)
    for s in series:
        assert {"service", "instance", "job", "env"} <= set(s.labels)
        assert s.key == series_key(s.metric, s.labels)
        assert s.labels["instance"] == s.host and s.labels["env"] == "prod"
        assert s.labels["job"] == ("node" if s.metric.startswith("node_") else s.service)
    assert {s.service for s in series} == set(SERVICES) == set(DEPENDENCIES)
    assert all(set(callees) <= set(SERVICES) for callees in DEPENDENCIES.values())


def test_values_stay_in_range(estate: DemoEstate) -> None:
    frame = estate.samples(START, START + 2 * DAY)
    units = {s.key: s.unit for s in estate.series()}
    ratio = frame["series_key"].map(units) == "ratio"
    assert (frame["value"] >= 0).all()
    assert (frame.loc[ratio, "value"] <= 1).all()
    assert np.isfinite(frame["value"]).all()


def test_fourteen_days_generate_every_sample_but_the_missing_ones(estate, fortnight) -> None:
    frame = estate.samples(START, START + 14 * DAY)
    dropped = sum(
        len(i.affected_series) * (i.end - i.start) // pd.Timedelta(minutes=1)
        for i in fortnight
        if i.kind == "missing_data"
    )
    assert len(frame) == len(estate.series()) * 14 * 1440 - dropped


# -- seasonality -------------------------------------------------------------------------


def test_traffic_peaks_in_the_afternoon_and_dips_on_weekends(estate: DemoEstate) -> None:
    key = next(s.key for s in estate.series() if s.metric == "http_requests_per_second")
    wednesday, saturday = START + 2 * DAY, START + 5 * DAY
    frame = estate.samples(wednesday, wednesday + DAY)
    night = _values(frame, key, wednesday + 2 * HOUR, wednesday + 4 * HOUR).mean()
    peak = _values(frame, key, wednesday + 14 * HOUR, wednesday + 16 * HOUR).mean()
    assert peak > 2 * night
    weekend = estate.samples(saturday, saturday + DAY)
    assert (
        _values(weekend, key, saturday, saturday + DAY).mean()
        < 0.8 * frame["value"][frame["series_key"] == key].mean()
    )


# -- incidents ---------------------------------------------------------------------------


def test_fortnight_has_every_kind_twice_and_no_overlaps(fortnight) -> None:
    assert len(fortnight) >= 14
    for kind in KINDS:
        assert sum(i.kind == kind for i in fortnight) >= 2, kind
    for before, after in itertools.pairwise(fortnight):
        assert after.start >= before.end + 2 * HOUR
    for inc in fortnight:
        assert inc.start < inc.end
        assert inc.affected_services[0] == inc.service
        assert set(inc.series_keys) <= set(inc.affected_series)
        assert inc.title and inc.incident_id.startswith("demo-1-")


def test_spike_root_jumps_far_above_its_usual_level(estate, fortnight) -> None:
    units = {s.key: s.unit for s in estate.series()}
    for inc in _of_kind(fortnight, "spike"):
        root = inc.series_keys[0]
        day_before = estate.samples(inc.start - DAY, inc.start)
        frame = estate.samples(inc.start - HOUR, inc.end + HOUR)
        usual = np.median(_values(day_before, root, inc.start - DAY, inc.start))
        top = _values(frame, root, inc.start, inc.end).max()
        if units[root] == "ratio":  # a saturating ratio cannot triple from 40 %
            assert top > 0.9 and top > 2 * usual
        else:
            assert top > 2.5 * usual
        for key in inc.affected_series:
            inside = _values(frame, key, inc.start, inc.end).mean()
            assert inside > 1.5 * _neighbour_mean(frame, key, inc), (inc.title, key)


def test_level_shift_steps_at_both_edges(estate, fortnight) -> None:
    quarter = pd.Timedelta(minutes=15)
    for inc in _of_kind(fortnight, "level_shift"):
        frame = estate.samples(inc.start - HOUR, inc.end + HOUR)
        for key in inc.series_keys:
            edges = [
                (inc.start, inc.start + quarter, inc.start - quarter, inc.start),
                (inc.end - quarter, inc.end, inc.end, inc.end + quarter),
            ]
            for in_lo, in_hi, out_lo, out_hi in edges:
                inside = _values(frame, key, in_lo, in_hi).mean()
                outside = _values(frame, key, out_lo, out_hi).mean()
                assert abs(np.log(inside / outside)) > np.log(1.3), (inc.title, key)


def test_leak_fills_memory_until_the_restart(estate, fortnight) -> None:
    for inc in _of_kind(fortnight, "leak"):
        root = inc.series_keys[0]
        assert root.startswith("node_memory_used_ratio")
        frame = estate.samples(inc.start - HOUR, inc.end + HOUR)
        before = _values(frame, root, inc.start - pd.Timedelta(minutes=30), inc.start).mean()
        late = _values(frame, root, inc.end - pd.Timedelta(minutes=10), inc.end)
        after = _values(frame, root, inc.end, inc.end + pd.Timedelta(minutes=30)).mean()
        assert late.max() > 0.85 and late.mean() > before + 0.15
        assert after < before + 0.05


def test_latency_cascade_climbs_the_dependency_graph(estate, fortnight) -> None:
    for inc in _of_kind(fortnight, "latency_cascade"):
        assert inc.service in {"mysql", "redis"}
        assert inc.affected_services[-1] == "gateway"
        root = inc.series_keys[0]
        day_before = estate.samples(inc.start - DAY, inc.start)
        frame = estate.samples(inc.start - HOUR, inc.end + HOUR)
        usual = np.median(_values(day_before, root, inc.start - DAY, inc.start))
        assert _values(frame, root, inc.start, inc.end).max() > 3 * usual
        late = inc.end - pd.Timedelta(minutes=4)
        for key in inc.affected_series:
            inside = _values(frame, key, late, inc.end).mean()
            assert inside > 1.5 * _neighbour_mean(frame, key, inc), (inc.title, key)
        gateway_errors = [k for k in inc.affected_series if "http_errors_ratio" in k]
        assert any('service="gateway"' in k for k in gateway_errors)
        assert all(_values(frame, k, late, inc.end).min() > 0.015 for k in gateway_errors)


def test_missing_data_leaves_a_gap_in_every_series_of_the_host(estate, fortnight) -> None:
    for inc in _of_kind(fortnight, "missing_data"):
        hosts = {s.host for s in estate.series() if s.key in set(inc.affected_series)}
        assert len(hosts) == 1
        assert len(inc.affected_series) == sum(s.host in hosts for s in estate.series())
        frame = estate.samples(inc.start - HOUR, inc.end + HOUR)
        for key in inc.affected_series:
            assert len(_values(frame, key, inc.start, inc.end)) == 0
            assert len(_values(frame, key, inc.start - HOUR, inc.start)) == 60
            assert len(_values(frame, key, inc.end, inc.end + HOUR)) == 60
