"""The engine's start-up on the embedded default: backfill, fit, evaluate, then schedule."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from vigil.engine import Engine, get_engine, reset_engine
from vigil.settings import load_settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def engine(data_dir: Path):
    settings = load_settings(
        data_dir=data_dir,
        demo_backfill_days=3,
        host_enabled=False,
        training_days=3,
        http_port=_free_port(),
    )
    started = get_engine(settings)
    yield started
    reset_engine()


def test_bootstrap_backfills_fits_evaluates_and_schedules(engine: Engine) -> None:
    status = engine.wait_until_ready(timeout=300)
    assert status.phase == "running", status.message
    store = engine.store
    assert store.one("SELECT count(*) FROM series") >= 60
    # three days of one-minute samples for every series, give or take the live edge
    assert store.one("SELECT count(*) FROM samples") >= 60 * 3 * 1440 * 0.95
    assert store.one("SELECT count(*) FROM baselines") == store.one("SELECT count(*) FROM series")
    assert store.one("SELECT count(*) FROM scores") > 0
    runs = dict(store.cursor.execute("SELECT job, status FROM job_runs").fetchall())
    assert {job: runs.get(job) for job in ("pull", "refit", "evaluate")} == dict.fromkeys(
        ("pull", "refit", "evaluate"), "ok")  # fmt: skip
    assert set(runs) <= {"pull", "refit", "evaluate", "reindex"}  # reindex starts at once
    assert store.one("SELECT count(*) FROM rules WHERE enabled") >= 3
    assert get_engine() is engine  # one engine per process
    base = engine.http.url
    health = json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=10).read())
    assert health == {"status": "ok", "phase": "running"}
    scraped = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    assert 'vigil_source_up{source="demo"} 1.0' in scraped
    assert 'vigil_job_runs_total{job="refit",status="ok"}' in scraped


def test_restart_resumes_from_the_watermark_without_duplicates(data_dir: Path) -> None:
    settings = load_settings(
        data_dir=data_dir, demo_backfill_days=1, host_enabled=False, scheduler_enabled=False
    )
    first = Engine(settings)
    first.pull_all()
    count = first.store.one("SELECT count(*) FROM samples")
    first.stop()
    second = Engine(settings)
    try:
        second.pull_all()
        total = second.store.one("SELECT count(*) FROM samples")
        distinct = second.store.one(
            "SELECT count(*) FROM (SELECT DISTINCT series_id, ts FROM samples)"
        )
    finally:
        second.stop()
    assert total >= count
    assert total == distinct
    assert total - count < 60 * 200  # only the minutes since the first pull were added
