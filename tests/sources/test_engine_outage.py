"""`vigil jobs` against a real Prometheus that goes away and comes back.

The engine keeps pulling on its schedule; the outage shows as the source going down
(on /metrics and the sources page, which read the same health rows) and recovering, and
afterwards Vigil holds every sample Prometheus holds for the whole window.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from tests.sources.conftest import scraping_prometheus
from tests.sources.promserver import NodeExporter, PrometheusServer, free_port
from vigil.store import Store

PULL_SECONDS = 5
RETRY_SLACK_SECONDS = 8  # four attempts on a refused connection back off at most 3.5 s


def _source_up(metrics_url: str) -> float | None:
    try:
        text = requests.get(metrics_url, timeout=5).text
    except requests.RequestException:
        return None
    found = re.search(r'^vigil_source_up\{source="prom"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else None


def _wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def one_query_config(path: Path, url: str) -> Path:
    """A vigil.toml with one Prometheus source "prom" pulling ``up`` at one second, a few
    minutes back."""
    path.write_text(
        "[[prometheus]]\n"
        f'name = "prom"\nurl = "{url}"\n'
        "step_seconds = 1\nlookback_days = 0.003\n"
        "queries = [{ query = 'up' }]\n"
    )
    return path


@pytest.fixture
def engine_process(
    tmp_path: Path, node_exporter: NodeExporter
) -> Iterator[tuple[subprocess.Popen, PrometheusServer, str, Path]]:
    prometheus = scraping_prometheus(tmp_path / "prom", node_exporter, samples=5)
    config = one_query_config(tmp_path / "vigil.toml", prometheus.url)
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_CONFIG": str(config),
        "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false",
        "VIGIL_PULL_INTERVAL_SECONDS": str(PULL_SECONDS),
        "VIGIL_HTTP_PORT": str(port),
    }
    data_dir = tmp_path / "data"
    log = open(tmp_path / "engine.log", "wb")  # noqa: SIM115 - closed below
    engine = subprocess.Popen(
        [sys.executable, "-m", "vigil", "jobs", "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        yield engine, prometheus, f"http://127.0.0.1:{port}/metrics", data_dir
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=60)
        log.close()
        prometheus.stop()


def test_outage_turns_the_source_red_then_green_and_leaves_no_gap(engine_process) -> None:
    engine, prometheus, metrics_url, data_dir = engine_process
    _wait(lambda: _source_up(metrics_url) == 1.0, 90, "the first successful pull")

    prometheus.stop()
    took = _wait(
        lambda: _source_up(metrics_url) == 0.0,
        PULL_SECONDS + RETRY_SLACK_SECONDS,
        "the source to go down",
    )
    assert took <= PULL_SECONDS + RETRY_SLACK_SECONDS

    prometheus.start()
    prometheus.wait_for_samples(count=8)
    _wait(lambda: _source_up(metrics_url) == 1.0, 60, "the source to recover")
    time.sleep(PULL_SECONDS + 2)  # one more pull after recovery
    engine.send_signal(signal.SIGTERM)
    assert engine.wait(timeout=60) == 0

    store = Store.open(data_dir)
    try:
        stored = store.df(
            "SELECT s.ts FROM samples s JOIN series USING (series_id) "
            "WHERE series.metric = 'up' ORDER BY s.ts"
        )["ts"]
    finally:
        store.close()
    assert len(stored) > 10
    start, end = stored.iloc[0], stored.iloc[-1]
    held = requests.get(
        f"{prometheus.url}/api/v1/query_range",
        params={"query": "up", "start": start.timestamp(), "end": end.timestamp(), "step": "1s"},
        timeout=10,
    ).json()["data"]["result"]
    held_ts = {pd.Timestamp(float(t), unit="s") for series in held for t, _ in series["values"]}
    missing = held_ts - set(stored)
    assert not missing, f"{len(missing)} samples Prometheus holds are not in Vigil"
