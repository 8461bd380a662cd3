"""`vigil alerts list` on a closed data dir and through the running engine's HTTP port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from tests.conftest import engine_auth, run_vigil, serving_engine
from tests.sources.promserver import free_port
from tests.ui.conftest import Seeded, make_seeded
from vigil.alert_list import list_alerts
from vigil.errors import VigilError
from vigil.store import Store


@pytest.fixture
def estate(tmp_path: Path) -> Seeded:
    return make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))


def test_records_are_plain_json_filtered_by_state(estate: Seeded) -> None:
    store = Store.open(estate.data_dir)
    try:
        everything = list_alerts(store)
        firing = list_alerts(store, ["FIRING"])
        active = list_alerts(store, ["firing", "pending"])
        with pytest.raises(VigilError, match="unknown alert state paused"):
            list_alerts(store, ["paused"])
    finally:
        store.close()
    assert {a["alert_id"] for a in everything} == {
        "latency-critical", "payments-old", "search-pending"
    }  # fmt: skip
    assert [a["alert_id"] for a in firing] == ["latency-critical"]
    assert {a["state"] for a in active} == {"firing", "pending"}
    alert = firing[0]
    assert alert["labels"] == {"service": "checkout"} and alert["value"] == 2.5
    assert alert["annotations"]["summary"] == "Checkout latency above baseline"
    assert alert["fired_at"].endswith("Z") and alert["resolved_at"] is None
    assert json.loads(json.dumps(everything)) == everything


def test_the_command_prints_one_json_object_per_alert(estate: Seeded) -> None:
    done = run_vigil(
        estate.data_dir, "alerts", "list", "--json", "--state", "firing", "--state", "resolved"
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(a["alert_id"] for a in lines) == ["latency-critical", "payments-old"]
    table = run_vigil(estate.data_dir, "alerts", "list")
    assert table.returncode == 0 and "3 alerts" in table.stdout
    assert "Checkout" in table.stdout and "firing" in table.stdout


def test_a_bad_state_or_data_dir_is_one_clear_line(estate: Seeded, tmp_path: Path) -> None:
    bad = run_vigil(estate.data_dir, "alerts", "list", "--state", "open")
    assert bad.returncode == 2 and "unknown alert state open" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run_vigil(tmp_path / "nowhere", "alerts", "list")
    assert missing.returncode == 2 and "no Vigil database" in missing.stderr


def test_while_the_engine_runs_lists_and_snapshots_go_through_its_port(estate: Seeded) -> None:
    port = free_port()
    with serving_engine(estate.data_dir, port):
        done = run_vigil(
            estate.data_dir, "alerts", "list", "--json", "--state", "pending", port=port
        )
        assert done.returncode == 0, done.stderr
        assert [json.loads(x)["alert_id"] for x in done.stdout.splitlines()] == ["search-pending"]
        refused = requests.get(f"http://127.0.0.1:{port}/api/v1/alerts?state=x", timeout=10)
        assert refused.status_code == 400 and "unknown alert state x" in refused.json()["error"]
        off = run_vigil(estate.data_dir, "alerts", "list", port=0)
        assert off.returncode == 2 and "HTTP port is off" in off.stderr
        snap = subprocess.run(
            [sys.executable, "-m", "vigil", "snapshot", "--data-dir", str(estate.data_dir)],
            env=os.environ | {"VIGIL_CONFIG": str(estate.data_dir.parent / "none.toml"),
                              "VIGIL_HTTP_PORT": str(port), "VIGIL_HTTP_HOST": "127.0.0.1"},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert snap.returncode == 0, snap.stderr
        written = Path(snap.stdout.strip().removeprefix("snapshot written to "))
        assert written.is_dir() and (written / "alerts.parquet").exists()


def test_acknowledge_and_resolve_directly_and_through_the_engine(estate: Seeded) -> None:
    acked = run_vigil(estate.data_dir, "alerts", "ack", "latency-critical", "-c", "on it",
                   "--author", "frank")  # fmt: skip
    assert acked.returncode == 0, acked.stderr
    port = free_port()
    with serving_engine(estate.data_dir, port):
        done = run_vigil(estate.data_dir, "alerts", "resolve", "search-pending",
                         "-c", "false alarm", "--author", "grace", port=port)  # fmt: skip
        assert done.returncode == 0, done.stderr
        again = run_vigil(estate.data_dir, "alerts", "resolve", "search-pending", port=port)
        assert again.returncode == 2 and "is resolved; only pending or firing" in again.stderr
        url = f"http://127.0.0.1:{port}/api/v1/alerts/resolve"
        bad = requests.post(url, data=b"{", timeout=10, headers=engine_auth(estate.data_dir))
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
        body = b'{"alert_id": "latency-critical", "by": "mallory"}'
        for headers in ({}, {"Authorization": "Bearer not-the-token"}):
            refused = requests.post(url, data=body, timeout=10, headers=headers)
            assert refused.status_code == 401 and "API token" in refused.json()["error"]
    store = Store.open(estate.data_dir)
    try:
        alerts = {a["alert_id"]: a for a in list_alerts(store)}
        events = store.df("SELECT alert_id, to_state, actor, comment FROM alert_events "
                          "WHERE actor != 'evaluator' ORDER BY event_id")  # fmt: skip
    finally:
        store.close()
    assert alerts["latency-critical"]["acknowledged_by"] == "frank"
    assert alerts["latency-critical"]["state"] == "firing"
    assert alerts["search-pending"]["state"] == "resolved"
    assert events.values.tolist() == [
        ["latency-critical", "acknowledged", "frank", "on it"],
        ["search-pending", "resolved", "grace", "false alarm"],
    ]
