from __future__ import annotations

import math

from vigil.clock import utc_now
from vigil.ingest import ingest
from vigil.sources.host import HostSource
from vigil.store import Store


def test_host_metrics_are_physical_values() -> None:
    values = HostSource().read()
    for name in (
        "node_cpu_utilisation_ratio",
        "node_memory_used_ratio",
        "node_filesystem_used_ratio",
    ):
        assert 0.0 <= values[name] <= 1.0, name
    assert values["node_load1"] >= 0.0


def test_network_rate_needs_two_readings() -> None:
    source = HostSource()
    first = source.read()["node_network_receive_bytes_per_second"]
    second = source.read()["node_network_receive_bytes_per_second"]
    assert math.isnan(first)
    assert second >= 0.0


def test_pull_stores_one_step_aligned_sample_per_metric(store: Store) -> None:
    source = HostSource(step_seconds=60)
    now = utc_now()
    result = source.pull(now, now)
    assert ingest(store, source.name, result) == len(result.samples) >= 4
    ts = store.df("SELECT DISTINCT ts FROM samples")["ts"]
    assert len(ts) == 1 and ts.iloc[0].second == 0
    services = store.df("SELECT DISTINCT service, source FROM series")
    assert services.values.tolist() == [["vigil-host", "host"]]
