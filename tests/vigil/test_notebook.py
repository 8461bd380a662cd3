from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from jobs.snapshot import write_snapshot
from vigil.errors import DataDirLockedError
from vigil.notebook import DataDir, open_data_dir
from vigil.store import Store

NOW = pd.Timestamp("2026-03-01 12:00:00")


def _seed(data_dir: Path) -> None:
    store = Store.open(data_dir)
    try:
        for key in ('up{job="a"}', 'up{job="b"}'):
            store.execute(
                "INSERT INTO series (series_key, metric, labels, source, service) "
                "VALUES (?, 'up', ?, 'test', 'svc')",
                [key, json.dumps({"job": key[-3]})],
            )
        store.execute(
            "INSERT INTO samples SELECT 1 + i % 2, TIMESTAMP '2026-03-01' + i * INTERVAL 1 minute, "
            "i FROM range(200) t(i)"
        )
        store.execute(
            "INSERT INTO scores SELECT series_id, ts, value, value - 1, value + 1, 0.5 "
            "FROM samples WHERE series_id = 1"
        )
        store.execute(
            "INSERT INTO incidents (incident_id, origin, kind, title, series_keys, "
            "affected_services, started_at) VALUES ('i1', 'user', 'spike', 'Spike', '[]', '[]', "
            "TIMESTAMP '2026-03-01 01:00')"
        )
        store.execute(
            "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
            "state, active_at, last_eval_at) VALUES ('a1', 'fp', 'r', '{}', "
            "'{\"summary\": \"up is down\"}', 'warning', 'firing', TIMESTAMP '2026-03-01 01:00', "
            "TIMESTAMP '2026-03-01 02:00')"
        )
        write_snapshot(store, data_dir / "snapshots", NOW)
    finally:
        store.close()


def _frames(data: DataDir) -> list[pd.DataFrame]:
    return [
        data.series(),
        data.series_frame('up{job="a"}'),
        data.series_frame('up{job="b"}', NOW - pd.Timedelta(hours=12), NOW),
        data.alerts(),
        data.alerts("resolved"),
        data.incidents(),
    ]


@contextmanager
def _held(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the data dir read-write, like a running engine."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from vigil.store import Store
            store = Store.open(Path({str(data_dir)!r}))  # held while this process lives
            print("ready", flush=True)
            time.sleep(120)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.kill()
        process.wait()


def test_free_data_dir_is_read_from_the_database(data_dir: Path) -> None:
    _seed(data_dir)
    data = open_data_dir(data_dir)
    try:
        assert data.source == "database"
        assert len(data.series_frame('up{job="a"}')) == 100
    finally:
        data.close()


def test_held_data_dir_falls_back_to_the_latest_snapshot_with_the_same_rows(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(data_dir)
    direct = open_data_dir(data_dir)
    expected = _frames(direct)
    direct.close()
    with _held(data_dir) as holding:
        with pytest.raises(DataDirLockedError):
            Store.open_read_only(data_dir)
        data = open_data_dir(data_dir)
        try:
            assert data.source == "snapshot 2026-03-01T12:00:00Z"
            assert f"pid {holding.pid}" in capsys.readouterr().out
            for got, want in zip(_frames(data), expected, strict=True):
                pd.testing.assert_frame_equal(got, want)
            assert data.series_frame('up{job="a"}')["score"].eq(0.5).all()
        finally:
            data.close()


def test_held_data_dir_without_a_snapshot_names_the_holder(data_dir: Path) -> None:
    Store.open(data_dir).close()
    with (
        _held(data_dir) as holding,
        pytest.raises(DataDirLockedError, match=rf"pid {holding.pid}.*no snapshot"),
    ):
        open_data_dir(data_dir)
