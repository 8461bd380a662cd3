"""Fixtures for the sources: real Prometheus and node_exporter, and the fault-injecting fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_binary
from tests.sources.fake_prometheus import FakePrometheus
from tests.sources.promserver import NodeExporter, PrometheusServer


@pytest.fixture(scope="session")
def node_exporter() -> Iterator[NodeExporter]:
    exporter = NodeExporter(need_binary("prometheus-node-exporter")).start()
    yield exporter
    exporter.stop()


def scraping_prometheus(
    workdir: Path, exporter: NodeExporter, samples: int = 3
) -> PrometheusServer:
    """A started Prometheus scraping ``exporter`` every second, with ``samples`` stored."""
    server = PrometheusServer(need_binary("prometheus"), workdir, targets=(exporter.address,))
    server.start()
    server.wait_for_samples(count=samples)
    return server


@pytest.fixture(scope="session")
def prometheus(
    node_exporter: NodeExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    server = scraping_prometheus(tmp_path_factory.mktemp("prometheus"), node_exporter, 6)
    yield server
    server.stop()


@pytest.fixture
def fake_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    yield fake
    fake.stop()
