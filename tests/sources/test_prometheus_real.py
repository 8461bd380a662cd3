"""Against a real Prometheus scraping a real node_exporter: what is stored is what it answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from jobs.pull import PartialPullError, pull_source
from tests.sources.promserver import PrometheusServer
from vigil.clock import utc_now
from vigil.labels import series_key
from vigil.settings import PrometheusEndpoint, PrometheusQuery
from vigil.sources.prometheus import DEFAULT_QUERIES, PrometheusSource
from vigil.sources.promql_client import RetryPolicy
from vigil.store import Store

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(attempts=2, backoff_seconds=0.05, budget_seconds=2)
WINDOW = pd.Timedelta(seconds=30)


def one_second_source(url: str, queries: tuple[PrometheusQuery, ...] = ()) -> PrometheusSource:
    endpoint = PrometheusEndpoint(
        url=url, step_seconds=1, lookback_days=WINDOW / pd.Timedelta(days=1), queries=queries
    )
    return PrometheusSource(endpoint, retry=FAST_RETRY)


def epoch_seconds(ts: pd.Timestamp) -> str:
    return f"{pd.Timestamp(ts).as_unit('ns').value / 1e9:.3f}"


def settled_now() -> pd.Timestamp:
    """A moment whose scrapes Prometheus has surely ingested, so answers no longer change."""
    return utc_now() - pd.Timedelta(seconds=2)


def direct(url: str, query: PrometheusQuery, first: pd.Timestamp, last: pd.Timestamp) -> set:
    """(series_key, ts, value) straight from /api/v1/query_range, finite values only."""
    params = {"query": query.query, "step": "1"}
    params |= {"start": epoch_seconds(first), "end": epoch_seconds(last)}
    body = requests.get(f"{url}/api/v1/query_range", params=params, timeout=10).json()
    assert body["status"] == "success", body
    rows = set()
    for series in body["data"]["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__", None)
        key = series_key(query.rename or name, labels)
        for seconds, text in series["values"]:
            if np.isfinite(float(text)):
                rows.add((key, pd.Timestamp(round(seconds * 1000), unit="ms"), float(text)))
    return rows


def stored(store: Store, metric: str | None = None) -> set:
    frame = store.df(
        "SELECT series_key, ts, value FROM samples JOIN series USING (series_id)"
        + (" WHERE metric = ?" if metric else ""),
        [metric] if metric else None,
    )
    return {(k, pd.Timestamp(t), float(v)) for k, t, v in frame.itertuples(index=False)}


def test_the_default_set_is_stored_exactly_as_prometheus_answers(
    store: Store, prometheus: PrometheusServer
) -> None:
    now = settled_now()
    pull_source(store, one_second_source(prometheus.url), 60, now=now)
    first, last = (now - WINDOW).floor("1s"), now.floor("1s")
    metrics = set(store.df("SELECT DISTINCT metric FROM series")["metric"])
    assert metrics >= {q.rename or q.query for q in DEFAULT_QUERIES} - {
        "node_filesystem_used_ratio"  # absent where every filesystem is tmpfs or overlay
    }
    for query in DEFAULT_QUERIES:
        expected = direct(prometheus.url, query, first, last)
        assert stored(store, query.rename or query.query) == expected, query.query
    up = store.df("SELECT service, host, unit FROM series WHERE metric = 'up'")
    assert up.iloc[0].tolist() == [
        "node",
        f"127.0.0.1:{prometheus.targets[0].split(':')[1]}",
        "bool",
    ]
    health = store.one("SELECT last_error IS NULL AND series_count >= 6 FROM source_health")
    assert health


def test_re_pulling_an_overlapping_window_adds_nothing(
    store: Store, prometheus: PrometheusServer
) -> None:
    source = one_second_source(prometheus.url, (PrometheusQuery(query="up"),))
    now = settled_now()
    assert pull_source(store, source, 60, now=now) > 0
    before = stored(store)
    store.execute("DELETE FROM watermarks")  # forget progress: the whole window again
    assert pull_source(store, source, 60, now=now) == 0
    pull_source(store, source, 60, now=now + pd.Timedelta(seconds=1))
    after = stored(store)
    assert before <= after and len(after) <= len(before) + 1
    rows = store.one("SELECT count(*) FROM samples")
    assert rows == store.one("SELECT count(*) FROM (SELECT DISTINCT series_id, ts FROM samples)")


def test_vigil_pull_reads_the_prometheus_url_and_exits_cleanly(
    tmp_path: Path, prometheus: PrometheusServer
) -> None:
    env = os.environ | {
        "VIGIL_PROMETHEUS_URL": prometheus.url,
        "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false",
        "VIGIL_CONFIG": str(tmp_path / "none.toml"),
    }
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "pull", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "new samples" in done.stdout
    store = Store.open(data)
    try:
        health = store.df("SELECT source, last_success, last_error FROM source_health")
        assert health["source"].tolist() == ["prometheus"]
        assert health["last_success"].notna().all() and health["last_error"].isna().all()
        marks = store.one("SELECT count(*) FROM watermarks WHERE source = 'prometheus'")
        assert marks == len(DEFAULT_QUERIES)
    finally:
        store.close()


def test_an_outage_is_recorded_and_healed_without_a_gap(
    store: Store, prometheus: PrometheusServer
) -> None:
    """Restarts the shared server on its own storage; it is serving again when this returns."""
    source = one_second_source(prometheus.url, (PrometheusQuery(query="up"),))
    start = settled_now()
    pull_source(store, source, 60, now=start)
    prometheus.stop()
    try:
        with pytest.raises(PartialPullError):
            pull_source(store, source, 60, now=settled_now())
    finally:
        prometheus.start()  # same storage: what it had scraped survives the restart
    error = store.one("SELECT last_error FROM source_health")
    assert "Connection refused" in error and "'up'" in error
    prometheus.wait_for_samples(count=prometheus.count_samples() + 2)
    end = settled_now()
    pull_source(store, source, 60, now=end)
    first = (start - WINDOW).floor("1s")
    expected = direct(prometheus.url, PrometheusQuery(query="up"), first, end.floor("1s"))
    assert stored(store) == expected
    assert store.one("SELECT last_success > last_error_at FROM source_health")
