from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

BASE = pd.Timestamp("2026-03-01")
CATALOG = pd.DataFrame(
    {
        "series_key": ['m{i="a"}', 'm{i="b"}'],
        "metric": ["m", "m"],
        "labels": [{"i": "a"}, {"i": "b"}],
        "unit": None,
        "service": None,
        "host": None,
    }
)


def _window(start: int, end: int) -> PullResult:
    minutes = range(start, end)
    samples = pd.DataFrame(
        {
            "series_key": [k for k in CATALOG["series_key"] for _ in minutes],
            "ts": [BASE + pd.Timedelta(minutes=m) for _ in CATALOG["series_key"] for m in minutes],
            "value": [float(m) for _ in CATALOG["series_key"] for m in minutes],
        }
    )
    return PullResult(samples, CATALOG)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(windows=st.lists(st.tuples(st.integers(0, 50), st.integers(1, 30)), min_size=1, max_size=5))
def test_repulling_overlapping_windows_adds_no_duplicates(
    store: Store, windows: list[tuple[int, int]]
) -> None:
    store.execute("DELETE FROM samples")
    covered: set[int] = set()
    for start, length in windows:
        ingest(store, "t", _window(start, start + length))
        covered |= set(range(start, start + length))
    assert store.one("SELECT count(*) FROM samples") == 2 * len(covered)
    assert store.one("SELECT count(*) FROM series") == 2


def test_ingest_reports_only_new_samples(store: Store) -> None:
    assert ingest(store, "t", _window(0, 10)) == 20
    assert ingest(store, "t", _window(5, 15)) == 10


def test_a_sample_given_twice_in_one_batch_is_stored_once(store: Store) -> None:
    doubled = _window(0, 10)
    twice = PullResult(pd.concat([doubled.samples, doubled.samples]), CATALOG)
    assert ingest(store, "t", twice) == 20
    assert store.one("SELECT count(*) FROM (SELECT DISTINCT series_id, ts FROM samples)") == 20


def test_concurrent_ingests_of_one_window_store_each_sample_once(store: Store) -> None:
    """Two pulls racing over the same window (two threads, two cursors) add it once."""
    windows = [_window(0, 600), _window(300, 900)] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        added = list(pool.map(lambda w: ingest(store, "t", w), windows))
    assert sum(added) == 2 * 900
    assert store.one("SELECT count(*) FROM samples") == 2 * 900
