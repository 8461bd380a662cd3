"""Backtests replay a rule, saved or draft, over history exactly as evaluation would, and
write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analytics.rules import load_rules
from jobs.backtest import backtest
from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from tests.conftest import run_vigil, serving_engine
from tests.jobs.test_evaluate import RULE, T0, _minutes, _write
from tests.sources.promserver import free_port
from vigil.clock import utc_now
from vigil.store import Store


def _rule(**changes: object):
    spec = {**RULE, **changes}
    return load_rules(yaml.safe_dump({"groups": [{"name": "g", "rules": [spec]}]}))[0]


@pytest.fixture
def history(store: Store) -> Store:
    """Deep from minute 60 to 89 and 100 to 119 of a day in two days of minutes."""
    minutes = np.arange(2 * 1440)
    deep = ((minutes % 1440 >= 60) & (minutes % 1440 < 90)) | (
        (minutes % 1440 >= 100) & (minutes % 1440 < 120)
    )
    return _write(store, np.where(deep, 500.0, 10.0))


def test_a_backtest_finds_what_evaluation_fires_and_writes_nothing(history: Store) -> None:
    start, end = T0, T0 + pd.Timedelta(days=2) - pd.Timedelta(minutes=1)
    result = backtest(history, _rule(), start, end, 60)
    assert history.one("SELECT count(*) FROM alerts") == 0
    assert (result.series, result.evaluations) == (1, 2 * 1440)
    assert result.fired["fired_at"].tolist() == [
        T0 + pd.Timedelta(minutes=m) for m in (63, 103, 1440 + 63, 1440 + 103)
    ]
    assert result.per_day["episodes"].tolist() == [2, 2]
    assert result.per_series["firing_seconds"].tolist() == [4 * 27 * 60 - 2 * 10 * 60]
    evaluate_window(history, ModelCache(), start, end, interval_s=60)
    stored = history.df("SELECT fired_at, resolved_at FROM alerts ORDER BY fired_at")
    assert stored["fired_at"].tolist() == result.fired["fired_at"].tolist()
    assert stored["resolved_at"].tolist() == result.fired["resolved_at"].tolist()


def test_a_draft_edit_shows_its_effect_before_it_is_saved(history: Store) -> None:
    start, end = _minutes(0, 2 * 1440 - 1)
    assert len(backtest(history, _rule(**{"for": "25m"}), start, end, 60).fired) == 2
    assert backtest(history, _rule(**{"for": "40m"}), start, end, 60).fired.empty
    quiet = backtest(history, _rule(expr="queue_depth > 1000"), start, end, 60)
    assert quiet.fired.empty and quiet.per_day.empty and quiet.series == 1
    nothing = backtest(history, _rule(expr='queue_depth{instance="other"} > 1'), start, end, 60)
    assert nothing.series == 0 and nothing.fired.empty


def test_score_rules_replay_the_stored_scores(history: Store) -> None:
    history.execute(
        "INSERT INTO scores SELECT series_id, ts, 10, 5, 15, "
        "CASE WHEN value > 100 THEN 0.97 ELSE 0.1 END FROM samples"
    )
    rule = _rule(expr="queue_depth", vigil={"kind": "score", "min_score": 0.95})
    result = backtest(history, rule, *_minutes(0, 1439), 60)
    assert result.fired["value"].tolist() == [0.97, 0.97]


def test_a_backtest_range_must_make_sense(history: Store) -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        backtest(history, _rule(), T0, T0, 60)
    with pytest.raises(ValueError, match="at most 90 days"):
        backtest(history, _rule(), T0, T0 + pd.Timedelta(days=91), 60)


def test_the_command_backtests_a_draft_directly_and_through_the_engine(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir)
    minutes = np.arange(2 * 1440)
    _write(store, np.where(minutes % 1440 // 60 == 1, 500.0, 10.0))  # 01:00-01:59 each day
    store.close()
    draft = tmp_path / "draft.yml"
    draft.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [RULE]}]}))
    days = str((utc_now() - T0) / pd.Timedelta(days=1) + 1)
    direct = run_vigil(data_dir, "rules", "backtest", str(draft), "--days", days, "--json")
    assert direct.returncode == 0, direct.stderr
    [result] = [json.loads(line) for line in direct.stdout.splitlines()]
    assert result["episodes"] == 2 and list(result["per_day"].values()) == [1, 1]
    assert result["fired"][0]["fired_at"] == "2026-11-20T01:03:00Z"
    port = free_port()
    with serving_engine(data_dir, port):
        served = run_vigil(
            data_dir, "rules", "backtest", str(draft), "--days", days, "--json", port=port
        )
        assert served.returncode == 0, served.stderr
        answer = json.loads(served.stdout)
        # both runs end at their own "now": a minute boundary between them adds one evaluation
        assert answer["evaluations"] - result["evaluations"] in (0, 1)
        assert {**answer, "evaluations": 0} == {**result, "evaluations": 0}
        draft.write_text("groups: [{name: g, rules: [{alert: X, expr: 'topk(1, up) > 1'}]}]")
        refused = run_vigil(data_dir, "rules", "backtest", str(draft), port=port)
        assert refused.returncode == 2 and "topk is not supported" in refused.stderr
