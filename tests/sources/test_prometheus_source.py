"""How answers become series and requests stay inside Prometheus' limits."""

from __future__ import annotations

import pandas as pd

from tests.sources.fake_prometheus import Behaviour, FakePrometheus
from vigil.labels import parse_series_key
from vigil.settings import PrometheusEndpoint, PrometheusQuery, load_settings
from vigil.sources.prometheus import MAX_POINTS, PrometheusSource, metric_name, to_frames
from vigil.sources.registry import build_sources

T0 = pd.Timestamp("2026-11-20 00:00")


def test_expressions_without_a_name_get_a_valid_stable_one() -> None:
    name = metric_name('sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))')
    assert name == "sum_by_job_rate_http_requests_total_code_5_5m"
    assert parse_series_key(name)[0] == name
    long = metric_name("x" * 300 + "+1")
    assert len(long) <= 100 and long != metric_name("x" * 300 + "+2")
    assert metric_name("1 - up") == "q_1_up"


def test_a_series_keeps_its_labels_service_and_host() -> None:
    result = [
        {
            "metric": {"__name__": "up", "instance": "a:9100", "job": "node", "service": "pay"},
            "values": [[T0.value / 1e9, "1"], [T0.value / 1e9 + 60, "0"]],
        }
    ]
    frames = to_frames(result, PrometheusQuery(query="up"), 10, T0, T0 + pd.Timedelta(minutes=1))
    row = frames.catalog.iloc[0]
    assert row["series_key"] == 'up{instance="a:9100",job="node",service="pay"}'
    assert (row["metric"], row["service"], row["host"]) == ("up", "pay", "a:9100")
    assert "__name__" not in row["labels"]
    assert frames.samples["ts"].tolist() == [T0, T0 + pd.Timedelta(minutes=1)]
    assert frames.samples["value"].tolist() == [1.0, 0.0]


def test_a_long_range_is_split_below_the_points_limit(fake_prometheus: FakePrometheus) -> None:
    fake_prometheus.default = Behaviour(series=1)
    endpoint = PrometheusEndpoint(
        url=fake_prometheus.url, step_seconds=1, queries=(PrometheusQuery(query="up"),)
    )
    source = PrometheusSource(endpoint)
    result = source.pull(T0, T0 + pd.Timedelta(hours=6))
    sizes = [round((end - start) / 1) + 1 for _, start, end in fake_prometheus.requests]
    assert sizes == [MAX_POINTS, MAX_POINTS, 6 * 3600 - 2 * MAX_POINTS]
    assert len(result.samples) == 6 * 3600 and result.samples["ts"].is_unique


def test_every_endpoint_becomes_a_uniquely_named_source() -> None:
    settings = load_settings(
        demo_enabled=False,
        host_enabled=True,
        prometheus_url="http://localhost:9090",
        prometheus=(
            PrometheusEndpoint(url="http://a:9090"),
            PrometheusEndpoint(name="host", url="http://b:9090"),
        ),
    )
    names = [s.name for s in build_sources(settings)]
    assert names == ["host", "prometheus", "host-2", "prometheus-2"]
