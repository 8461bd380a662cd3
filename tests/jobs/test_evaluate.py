"""The evaluate job on a series whose story is known minute by minute."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from vigil.alert_actions import acknowledge_alert, resolve_alert
from vigil.errors import VigilError
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

T0 = pd.Timestamp("2026-11-20 00:00")
KEY = 'queue_depth{instance="q-1",service="billing"}'
RULE = {
    "alert": "QueueDeep",
    "expr": "queue_depth > 100",
    "for": "3m",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "{{ $labels.instance }} queue at {{ $value }}"},
}


def _minutes(start: int, end: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    return T0 + pd.Timedelta(minutes=start), T0 + pd.Timedelta(minutes=end)


def _write(store: Store, values: np.ndarray) -> Store:
    """One value per minute from T0, and the QueueDeep rule."""
    samples = pd.DataFrame(
        {"series_key": KEY, "ts": T0 + pd.to_timedelta(np.arange(len(values)), unit="m"),
         "value": values}
    )  # fmt: skip
    catalog = pd.DataFrame(
        [{"series_key": KEY, "metric": "queue_depth", "service": "billing", "host": "q-1",
          "labels": {"instance": "q-1", "service": "billing"}, "unit": None}]
    )  # fmt: skip
    ingest(store, "file", PullResult(samples, catalog))
    store.execute(
        "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, updated_at, "
        "updated_by) VALUES ('QueueDeep', 'threshold', TRUE, 'critical', ?, 1, ?, 'test')",
        [json.dumps(RULE), T0.to_pydatetime()],
    )
    return store


@pytest.fixture
def story(store: Store) -> Store:
    """Quiet for an hour, deep from minute 60 to 69, quiet again until minute 120."""
    minutes = np.arange(120)
    return _write(store, np.where((minutes >= 60) & (minutes < 70), 500.0, 10.0))


def _alerts(store: Store) -> pd.DataFrame:
    return store.df("SELECT * FROM alerts ORDER BY active_at")


def test_one_episode_with_prometheus_timing_and_its_transitions(story: Store) -> None:
    evaluate_window(story, ModelCache(), *_minutes(0, 119), interval_s=60)
    alerts = _alerts(story)
    assert len(alerts) == 1
    alert = alerts.iloc[0]
    assert alert["state"] == "resolved"
    assert alert["active_at"] == T0 + pd.Timedelta(minutes=60)
    assert alert["fired_at"] == T0 + pd.Timedelta(minutes=63)  # for: 3m
    assert alert["resolved_at"] == T0 + pd.Timedelta(minutes=70)
    assert json.loads(alert["annotations"])["summary"] == "q-1 queue at 500"
    assert json.loads(alert["labels"])["alertname"] == "QueueDeep"
    events = story.df("SELECT to_state FROM alert_events ORDER BY ts")["to_state"].tolist()
    assert events == ["pending", "firing", "resolved"]


def test_replaying_the_same_window_changes_nothing(story: Store) -> None:
    evaluate_window(story, ModelCache(), *_minutes(0, 119), interval_s=60)
    first = _alerts(story)
    events = story.one("SELECT count(*) FROM alert_events")
    evaluate_window(story, ModelCache(), *_minutes(0, 119), interval_s=60)
    pd.testing.assert_frame_equal(first, _alerts(story))
    assert story.one("SELECT count(*) FROM alert_events") == events


def test_an_episode_open_at_the_window_end_is_continued_not_duplicated(story: Store) -> None:
    evaluate_window(story, ModelCache(), *_minutes(0, 65), interval_s=60)
    open_alert = _alerts(story).iloc[0]
    assert open_alert["state"] == "firing" and pd.isna(open_alert["resolved_at"])
    evaluate_window(story, ModelCache(), *_minutes(66, 119), interval_s=60)
    alerts = _alerts(story)
    assert len(alerts) == 1
    assert alerts.iloc[0]["alert_id"] == open_alert["alert_id"]
    assert alerts.iloc[0]["state"] == "resolved"
    assert alerts.iloc[0]["fired_at"] == open_alert["fired_at"]


def test_a_blip_shorter_than_for_never_fires(store: Store) -> None:
    minutes = np.arange(60)
    _write(store, np.where((minutes >= 20) & (minutes < 22), 500.0, 10.0))
    evaluate_window(store, ModelCache(), *_minutes(0, 59), interval_s=60)
    assert store.one("SELECT count(*) FROM alerts WHERE fired_at IS NOT NULL") == 0


@pytest.fixture
def twice(store: Store) -> Store:
    """Deep from minute 60 to 89, quiet, then deep again from minute 100 to 119."""
    minutes = np.arange(130)
    deep = ((minutes >= 60) & (minutes < 90)) | ((minutes >= 100) & (minutes < 120))
    return _write(store, np.where(deep, 500.0, 10.0))


def test_a_hand_resolved_episode_stays_resolved_until_its_condition_returns(
    twice: Store,
) -> None:
    evaluate_window(twice, ModelCache(), *_minutes(0, 70), interval_s=60)
    [alert_id] = _alerts(twice)["alert_id"].tolist()
    acknowledge_alert(twice, alert_id, "dana", "looking at the consumer")
    resolve_alert(twice, alert_id, "dana", "restarted the consumer")
    for start, end in ((0, 80), (71, 95), (0, 95)):  # replays and later windows alike
        evaluate_window(twice, ModelCache(), *_minutes(start, end), interval_s=60)
        alerts = _alerts(twice)
        assert len(alerts) == 1 and alerts.iloc[0]["state"] == "resolved"
    alert = alerts.iloc[0]
    assert (alert["resolved_by"], alert["acknowledged_by"]) == ("dana", "dana")
    assert alert["ack_comment"] == "looking at the consumer"
    events = twice.df(
        "SELECT to_state, actor, comment FROM alert_events WHERE alert_id = ? ORDER BY event_id",
        [alert_id],
    )
    assert events["to_state"].tolist() == ["pending", "firing", "acknowledged", "resolved"]
    assert events["actor"].tolist()[2:] == ["dana", "dana"]
    evaluate_window(twice, ModelCache(), *_minutes(96, 125), interval_s=60)
    alerts = _alerts(twice)  # the condition came back: a new episode fires
    assert len(alerts) == 2 and alerts.iloc[1]["state"] == "resolved"
    assert alerts.iloc[1]["fired_at"] == T0 + pd.Timedelta(minutes=103)
    assert pd.isna(alerts.iloc[1]["resolved_by"])


def test_only_open_alerts_can_be_acknowledged_or_resolved(story: Store) -> None:
    evaluate_window(story, ModelCache(), *_minutes(0, 119), interval_s=60)
    [alert_id] = _alerts(story)["alert_id"].tolist()
    before = story.one("SELECT count(*) FROM alert_events")
    with pytest.raises(VigilError, match="is resolved; only pending or firing"):
        acknowledge_alert(story, alert_id, "erin")
    with pytest.raises(VigilError, match="no alert 'nope'"):
        resolve_alert(story, "nope", "erin")
    with pytest.raises(VigilError, match="say who you are"):
        resolve_alert(story, alert_id, " ")
    assert story.one("SELECT count(*) FROM alert_events") == before
