"""``vigil pull`` killed with SIGKILL mid-backfill: the next run completes with no gap and no
duplicate, exactly as one clean pull would have stored it."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.sources.fake_prometheus import Behaviour, FakePrometheus
from vigil.engine import Engine
from vigil.settings import load_settings
from vigil.store import Store

pytestmark = pytest.mark.integration

STEP = 60
QUERIES = [{"query": "up"}, {"query": "node_load1", "rename": "load"}]


def pull_command(fake: FakePrometheus, data_dir: Path, tmp_path: Path) -> subprocess.Popen[str]:
    endpoint = {
        "name": "fake",
        "url": fake.url,
        "step_seconds": STEP,
        "lookback_days": 30,
        "queries": QUERIES,
    }
    env = os.environ | {
        "VIGIL_PROMETHEUS": json.dumps([endpoint]),
        "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false",
        "VIGIL_HTTP_PORT": "0",
        "VIGIL_CONFIG": str(tmp_path / "none.toml"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "vigil", "pull", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored(data_dir: Path) -> pd.DataFrame:
    store = Store.open(data_dir)
    try:
        return store.df(
            "SELECT series_key, ts, value FROM samples JOIN series USING (series_id) ORDER BY ALL"
        )
    finally:
        store.close()


def test_a_killed_backfill_resumes_to_exactly_one_clean_pull(
    fake_prometheus: FakePrometheus, tmp_path: Path
) -> None:
    fake = fake_prometheus
    fake.data_end = math.floor(time.time() / STEP) * STEP - 2 * STEP
    fake.data_start = fake.data_end - 29 * 86_400  # 30-day lookback: 5 requests per query
    fake.default = Behaviour(delay_seconds=0.3)
    data_dir = tmp_path / "data"

    victim = pull_command(fake, data_dir, tmp_path)
    deadline = time.monotonic() + 60
    while fake.request_count() < 4 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    assert victim.returncode == -signal.SIGKILL
    partial = stored(data_dir)
    assert 0 < len(partial) < 4 * 29 * 1440  # killed mid-way, with something stored

    fake.default = Behaviour()
    before = fake.request_count()
    resumed = pull_command(fake, data_dir, tmp_path)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "new samples" in out
    assert fake.request_count() - before < 10  # resumed from the watermarks, not from scratch

    settings = load_settings(
        data_dir=tmp_path / "clean",
        demo_enabled=False,
        host_enabled=False,
        scheduler_enabled=False,
        http_port=0,
        prometheus=(
            {
                "name": "fake",
                "url": fake.url,
                "step_seconds": STEP,
                "lookback_days": 30,
                "queries": QUERIES,
            },
        ),
    )
    clean = Engine(settings)
    try:
        clean.pull_all()
    finally:
        clean.stop()
    healed, expected = stored(data_dir), stored(tmp_path / "clean")
    assert len(expected) == 4 * (29 * 1440 + 1)
    pd.testing.assert_frame_equal(healed, expected)
    assert not healed.duplicated(["series_key", "ts"]).any()
