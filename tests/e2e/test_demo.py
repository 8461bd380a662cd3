from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd

from tests.e2e.conftest import DemoRun
from vigil.notebook import open_data_dir


def _figure(stdout: str, label: str) -> float:
    match = re.search(rf"{label}:\s+([0-9.]+)", stdout)
    assert match, f"{label} missing from summary:\n{stdout}"
    return float(match.group(1))


def test_demo_catches_incidents_without_crying_wolf(demo_run: DemoRun) -> None:
    assert _figure(demo_run.stdout, "incident recall") >= 0.9
    assert _figure(demo_run.stdout, "alert precision") >= 0.8


def test_demo_summary_counts_match_the_database(demo_run: DemoRun) -> None:
    data = open_data_dir(demo_run.data_dir)
    try:
        assert _figure(demo_run.stdout, "series") == len(data.series()) >= 60
        assert _figure(demo_run.stdout, "samples") == data.store.one("SELECT count(*) FROM samples")
        assert _figure(demo_run.stdout, "incidents") >= 14
        kinds = set(data.incidents()["kind"])
    finally:
        data.close()
    assert {"spike", "level_shift", "leak", "latency_cascade", "missing_data"} <= kinds


def _alerts(demo_run: DemoRun) -> pd.DataFrame:
    data = open_data_dir(demo_run.data_dir)
    try:
        return data.store.df(
            "SELECT alert_id, state, active_at, fired_at, resolved_at FROM alerts ORDER BY alert_id"
        )
    finally:
        data.close()


def test_replaying_evaluation_twice_gives_the_same_alerts(demo_run: DemoRun) -> None:
    data = open_data_dir(demo_run.data_dir)
    newest = pd.Timestamp(data.store.one("SELECT max(ts) FROM samples"))
    data.close()
    window = ["--since", (newest - pd.Timedelta(days=2)).isoformat(), "--until", newest.isoformat()]
    runs = []
    for _ in range(2):
        command = ["evaluate", "--data-dir", str(demo_run.data_dir), *window]
        result = subprocess.run(
            [sys.executable, "-m", "vigil", *command], capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-2000:]
        runs.append(_alerts(demo_run))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert len(runs[0]) > 0


def test_explore_forecasts_continue_each_series_daily_cycle(demo_run) -> None:
    from vigil.forecasts import series_forecasts
    from vigil.store import Store

    store = Store.open(demo_run.data_dir)
    try:
        ids = store.df("SELECT series_id FROM series WHERE metric = "
                       "'http_requests_per_second' ORDER BY series_id LIMIT 3")  # fmt: skip
        ids = ids["series_id"].tolist()
        forecast = series_forecasts(store, ids, pd.Timedelta(hours=12))
        newest = store.df("SELECT series_id, max(ts) AS last FROM samples "
                          "WHERE series_id IN (?, ?, ?) GROUP BY series_id", ids)  # fmt: skip
        day_before = store.df(
            "SELECT series_id, ts + INTERVAL 1 DAY AS ts, value FROM samples "
            "WHERE series_id IN (?, ?, ?)", ids)  # fmt: skip
    finally:
        store.close()
    assert sorted(forecast["series_id"].unique()) == sorted(ids)
    for sid, last in newest.itertuples(index=False):
        mine = forecast[forecast["series_id"] == sid]
        assert mine["ts"].min() > last and mine["ts"].max() <= last + pd.Timedelta(hours=12)
        joined = mine.merge(day_before[day_before["series_id"] == sid], on=["series_id", "ts"])
        assert len(joined) > 100
        # requests follow the day: the forecast has yesterday's shape at these hours
        assert np.corrcoef(joined["expected"], joined["value"])[0, 1] > 0.8
        assert (joined["lower"] < joined["upper"]).all()
