"""Faults a real Prometheus (or the network to it) produces, injected by a fake that speaks its API.

Every fault goes through ``Engine.pull_all`` as the scheduler would run it: the engine keeps
going, the error lands in ``source_health``, and once the fault clears the next pull fills
the window so the store equals one clean pull: no gap, no duplicate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from jobs.pull import PartialPullError, pull_source, watermark
from tests.sources.fake_prometheus import Behaviour, FakePrometheus
from vigil.engine import Engine
from vigil.settings import PrometheusEndpoint, PrometheusQuery, load_settings
from vigil.sources.prometheus import PrometheusSource, partition_key
from vigil.sources.promql_client import RetryPolicy, SourceError
from vigil.store import Store

STEP = 60
UP = PrometheusQuery(query="up")
LOAD = PrometheusQuery(query="node_load1", rename="load")
FAST_RETRY = RetryPolicy(
    attempts=3, backoff_seconds=0.02, max_backoff_seconds=0.1, budget_seconds=5
)

MakeEngine = Callable[..., Engine]


@pytest.fixture
def fake(fake_prometheus: FakePrometheus) -> FakePrometheus:
    """The fake with 40 minutes of data ending two minutes ago: every pull sees the same data."""
    data_end = math.floor(time.time() / STEP) * STEP - 2 * STEP
    fake_prometheus.data_start, fake_prometheus.data_end = data_end - 40 * STEP, data_end
    return fake_prometheus


def endpoint(fake: FakePrometheus, **overrides: object) -> PrometheusEndpoint:
    fields: dict[str, object] = {
        "name": "fake",
        "url": fake.url,
        "step_seconds": STEP,
        "lookback_days": 1 / 24,
        "timeout_seconds": 0.5,
        "queries": (UP, LOAD),
    }
    return PrometheusEndpoint(**(fields | overrides))


@pytest.fixture
def make_engine(tmp_path: Path, fake: FakePrometheus) -> Iterator[MakeEngine]:
    engines: list[Engine] = []

    def make(name: str = "data", **overrides: object) -> Engine:
        settings = load_settings(
            data_dir=tmp_path / name,
            demo_enabled=False,
            host_enabled=False,
            scheduler_enabled=False,
            http_port=0,
            prometheus=(endpoint(fake, **overrides),),
        )
        engine = Engine(settings)
        for source in engine.sources:
            source.client.retry = FAST_RETRY
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.stop()


def rows(store: Store) -> pd.DataFrame:
    return store.df(
        "SELECT series_key, ts, value FROM samples JOIN series USING (series_id) ORDER BY ALL"
    )


def clean_rows(make_engine: MakeEngine, fake: FakePrometheus, **overrides: object) -> pd.DataFrame:
    """What one pull with no fault stores."""
    saved, fake.behaviours = fake.behaviours, {}
    try:
        engine = make_engine("clean", **overrides)
        engine.pull_all()
        return rows(engine.store)
    finally:
        fake.behaviours = saved


def health(store: Store) -> tuple[str | None, bool]:
    """The last error text, and whether the last pull succeeded after it."""
    error, ok = store.df(
        "SELECT last_error, coalesce(last_success >= last_error_at, last_success IS NOT NULL)"
        " FROM source_health WHERE source = 'fake'"
    ).iloc[0]
    return error, bool(ok)


def assert_healed(engine: Engine, make_engine: MakeEngine, fake: FakePrometheus) -> None:
    fake.behaviours = {}
    engine.pull_all()
    healed = rows(engine.store)
    pd.testing.assert_frame_equal(healed, clean_rows(make_engine, fake))
    assert not healed.duplicated(["series_key", "ts"]).any()
    assert health(engine.store)[1]


def requests_for(fake: FakePrometheus, query: str) -> int:
    return sum(1 for q, _, _ in fake.requests if q == query)


def test_a_server_that_is_down_is_recorded_then_caught_up(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine()
    fake.stop()
    assert engine.pull_all() == 0  # no exception escapes the engine
    error, ok = health(engine.store)
    assert "Connection refused" in error and "'fake'" in error and "'up'" in error and not ok
    assert "after 3 attempts" in error and "1 more skipped while unreachable" in error
    fake.start()
    assert_healed(engine, make_engine, fake)


def test_a_slow_query_times_out_without_holding_back_the_others(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine()
    fake.behaviours["up"] = Behaviour(delay_seconds=1.0)
    engine.pull_all()
    error, _ = health(engine.store)
    assert "no answer within 0.5s" in error and "'up'" in error
    metrics = set(engine.store.df("SELECT DISTINCT metric FROM series")["metric"])
    assert metrics == {"load"}
    assert_healed(engine, make_engine, fake)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_client_error_is_not_retried(
    make_engine: MakeEngine, fake: FakePrometheus, status: int
) -> None:
    engine = make_engine()
    fake.behaviours["up"] = Behaviour(status=status, failures=-1)
    engine.pull_all()
    assert requests_for(fake, "up") == 1
    error, ok = health(engine.store)
    assert f"rejected: HTTP {status}" in error and not ok
    assert_healed(engine, make_engine, fake)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_server_errors_are_retried_until_they_pass(
    make_engine: MakeEngine, fake: FakePrometheus, status: int
) -> None:
    engine = make_engine()
    fake.behaviours["up"] = Behaviour(status=status, failures=2)
    engine.pull_all()
    assert requests_for(fake, "up") == 3
    error, ok = health(engine.store)
    assert error is None and ok
    pd.testing.assert_frame_equal(rows(engine.store), clean_rows(make_engine, fake))


def test_a_promql_error_names_endpoint_query_and_message(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine()
    message = 'parse error: unexpected "}" in label matching'
    fake.behaviours["up"] = Behaviour(error=message)
    engine.pull_all()
    assert requests_for(fake, "up") == 1
    error, _ = health(engine.store)
    assert f"bad_data: {message}" in error and "'up'" in error and "'fake'" in error
    source = PrometheusSource(endpoint(fake), retry=FAST_RETRY)
    with pytest.raises(SourceError, match="bad_data"):
        source.pull(
            pd.Timestamp.now("UTC").tz_localize(None) - pd.Timedelta(hours=1),
            pd.Timestamp.now("UTC").tz_localize(None),
        )
    assert_healed(engine, make_engine, fake)


def test_partial_data_and_warnings_are_stored_as_far_as_they_go(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine()
    fake.behaviours["up"] = Behaviour(series=4, gaps=True, warnings=("store eu-2 unreachable",))
    engine.pull_all()
    error, ok = health(engine.store)
    assert error.startswith("warning:") and "store eu-2 unreachable" in error and ok
    per_series = engine.store.df(
        "SELECT series_key, count(*) AS n FROM samples JOIN series USING (series_id)"
        " WHERE metric = 'up' GROUP BY ALL ORDER BY ALL"
    )["n"].tolist()
    assert per_series == [41, 27, 41, 27]  # odd series miss every third of 41 points


def test_nan_and_infinite_points_are_dropped_and_counted(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine()
    fake.behaviours["up"] = Behaviour(special_values=True)
    engine.pull_all()
    error, ok = health(engine.store)
    assert "dropped 11 NaN/Inf points" in error and ok
    values = engine.store.df("SELECT value FROM samples")["value"]
    assert values.map(math.isfinite).all()
    assert engine.store.one("SELECT count(*) FROM samples") == 41 * 4 - 11


def test_a_label_explosion_is_capped_deterministically_and_reported(
    make_engine: MakeEngine, fake: FakePrometheus
) -> None:
    engine = make_engine(max_series_per_query=10)
    fake.behaviours["up"] = Behaviour(series=25)
    engine.pull_all()
    error, ok = health(engine.store)
    assert "query 'up' returned 25 series, capped at 10" in error and ok
    kept = engine.store.df("SELECT host FROM series WHERE metric = 'up' ORDER BY host")["host"]
    assert kept.tolist() == [f"host-{i:05d}:9100" for i in range(10)]


def test_a_failure_mid_backfill_keeps_the_stored_chunks_and_resumes(
    store: Store, fake: FakePrometheus, tmp_path: Path
) -> None:
    """30 days at one minute is five requests per query; the third one fails."""
    fake.data_start = fake.data_end - 29 * 86_400
    source = PrometheusSource(endpoint(fake, lookback_days=30, queries=(UP,)), retry=FAST_RETRY)
    fake.behaviours["up"] = Behaviour(status=503, failures=-1, succeed_first=2)
    with pytest.raises(PartialPullError, match="503"):
        pull_source(store, source, STEP)
    mark = watermark(store, "fake", partition_key(UP))
    assert mark is not None
    assert store.one("SELECT max(ts) FROM samples") < mark
    assert store.one("SELECT count(*) FROM samples") > 0

    fake.behaviours = {}
    pull_source(store, source, STEP)
    clean = Store.open(tmp_path / "clean")
    try:
        pull_source(clean, PrometheusSource(source.endpoint), STEP)
        pd.testing.assert_frame_equal(rows(store), rows(clean))
    finally:
        clean.close()
