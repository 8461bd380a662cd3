"""The evaluate job on every kind of rule: PromQL with aggregations, forecasts, absence
series by series, detector scores, and a rule that fails without taking others down."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from vigil.ingest import ingest
from vigil.labels import series_key
from vigil.rules_store import import_rules
from vigil.sources.base import PullResult
from vigil.store import Store

T0 = pd.Timestamp("2026-11-20 00:00")
MINUTES = 120


def _series(store: Store, metric: str, labels: dict[str, str], values: np.ndarray) -> None:
    """One value per minute from T0 (NaN: no sample that minute)."""
    keep = ~np.isnan(values)
    key = series_key(metric, labels)
    ts = T0 + pd.to_timedelta(np.flatnonzero(keep), unit="m")
    samples = pd.DataFrame({"series_key": key, "value": values[keep], "ts": ts})
    entry = {"series_key": key, "metric": metric, "labels": labels, "unit": None,
             "service": labels.get("service"), "host": labels.get("instance")}  # fmt: skip
    catalog = pd.DataFrame([entry])
    ingest(store, "file", PullResult(samples, catalog))


def _rules(store: Store, *rules: dict) -> None:
    import_rules(store, yaml.safe_dump({"groups": [{"name": "g", "rules": list(rules)}]}), "test")


def _evaluate(store: Store, minutes: int = MINUTES - 1) -> pd.DataFrame:
    evaluate_window(store, ModelCache(), T0, T0 + pd.Timedelta(minutes=minutes), 60)
    alerts = store.df("SELECT * FROM alerts ORDER BY rule_id, active_at, alert_id")
    alerts["labels"] = [json.loads(text) for text in alerts["labels"]]
    alerts["annotations"] = [json.loads(text) for text in alerts["annotations"]]
    return alerts


def _at(minute: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minute)


def test_an_aggregated_rate_alerts_once_per_service(store: Store) -> None:
    minutes = np.arange(MINUTES, dtype=float)
    fast = np.where(minutes < 60, 10.0, 100.0)  # requests per minute, ten times more from 60
    for instance in ("a", "b"):
        _series(store, "http_requests_total", {"service": "api", "instance": instance},
                np.cumsum(fast) * 60)  # fmt: skip
        _series(store, "http_requests_total", {"service": "web", "instance": instance},
                np.cumsum(np.full(MINUTES, 10.0)) * 60)  # fmt: skip
    summary = "{{ $labels.service }}: {{ $value }}/s"
    expr = "sum by (service) (rate(http_requests_total[5m])) > 150"
    _rules(store, {"alert": "Busy", "expr": expr, "for": "2m", "annotations": {"summary": summary}})
    alerts = _evaluate(store)
    assert len(alerts) == 1
    alert = alerts.iloc[0]
    assert alert["labels"] == {"service": "api", "alertname": "Busy", "severity": "warning"}
    assert alert["service"] == "api" and pd.isna(alert["series_id"])  # from two series
    assert alert["state"] == "firing" and alert["fired_at"] > _at(60)
    assert alert["annotations"]["summary"] == "api: 200/s"


def test_a_forecast_says_when_the_disk_fills(store: Store) -> None:
    minutes = np.arange(MINUTES, dtype=float)
    free = np.where(minutes < 60, 1000.0, 1000.0 - (minutes - 60) * 10)  # 10 per minute from 60
    _series(store, "disk_free_bytes", {"instance": "db-1"}, free)
    forecast = {"kind": "forecast", "op": "<", "threshold": 0, "horizon": "1h", "window": "30m"}
    summary = "full in {{ $value | humanizeDuration }}"
    _rules(store, {"alert": "DiskFull", "expr": "disk_free_bytes", "vigil": forecast,
                   "annotations": {"summary": summary}})  # fmt: skip
    alerts = _evaluate(store)
    [alert] = alerts.itertuples(index=False)
    assert alert.labels == {"instance": "db-1", "alertname": "DiskFull", "severity": "warning"}
    assert alert.state == "firing" and alert.series_id is not None
    # empty at minute 160: 40 minutes after the last evaluation, at minute 119
    assert alert.value == 41 * 60
    assert alert.annotations["predicted_at"] == "2026-11-20T02:40:00Z"
    assert alert.annotations["summary"] == "full in 41m 0s"


def test_absence_is_per_series_and_keeps_each_metric_apart(store: Store) -> None:
    minutes = np.arange(MINUTES, dtype=float)
    stops = np.where(minutes < 50, 1.0, np.nan)  # both stop reporting at minute 50
    _series(store, "cpu_ratio", {"instance": "h-1"}, stops)
    _series(store, "mem_ratio", {"instance": "h-1"}, stops)
    _series(store, "cpu_ratio", {"instance": "h-2"}, np.ones(MINUTES))
    _rules(store, {"alert": "Gone", "expr": '{instance=~"h-.*"}', "for": "5m",
                   "vigil": {"kind": "absent", "within": "30m"}})  # fmt: skip
    alerts = _evaluate(store)
    assert sorted(a["metric"] for a in alerts["labels"]) == ["cpu_ratio", "mem_ratio"]
    assert set(alerts["fired_at"]) == {_at(59)}  # stale after 5m (at 54), then for 5m
    assert set(alerts["resolved_at"]) == {_at(79)}  # not reported within 30m any more


def test_two_metrics_of_one_host_anomalous_at_once_are_two_alerts(store: Store) -> None:
    for metric in ("cpu_ratio", "latency_seconds"):
        _series(store, metric, {"instance": "h-1", "service": "api"}, np.ones(MINUTES))
    ids = store.df("SELECT series_id FROM series ORDER BY series_id")["series_id"].tolist()
    ts = T0 + pd.to_timedelta(np.arange(MINUTES), unit="m")
    score = np.where(np.arange(MINUTES) >= 100, 0.99, 0.1)
    for sid in ids:
        frame = pd.DataFrame({"series_id": sid, "ts": ts, "expected": 1.0, "lower": 0.5,
                              "upper": 1.5, "score": score})  # fmt: skip
        store.cursor.register("scored", frame)
        store.cursor.execute("INSERT INTO scores SELECT * FROM scored")
        store.cursor.unregister("scored")
    _rules(store, {"alert": "Odd", "expr": '{__name__=~".+"}', "vigil": {"kind": "score"}})
    alerts = _evaluate(store)
    assert len(alerts) == 2 and alerts["fingerprint"].nunique() == 2
    assert sorted(alerts["series_id"].tolist()) == ids
    assert all(alerts["fired_at"] == _at(100))


def test_a_failing_rule_records_why_and_the_others_still_evaluate(store: Store) -> None:
    ones = np.ones(MINUTES)
    _series(store, "up", {"job": "a", "instance": "1"}, ones)
    _series(store, "up", {"job": "a", "instance": "2"}, ones)
    _series(store, "target", {"job": "a"}, ones)
    _rules(store,
           {"alert": "Matched", "expr": "target * on (job) up > 0"},  # two up per job: fails
           {"alert": "Fine", "expr": "up > 0"})  # fmt: skip
    alerts = _evaluate(store)
    assert set(alerts["rule_id"]) == {"Fine"}
    health = store.df("SELECT rule_id, last_error, last_eval_at FROM rules ORDER BY rule_id")
    fine, matched = health.itertuples(index=False)
    assert pd.isna(fine.last_error) and "many-to-many matching not allowed" in matched.last_error
    assert fine.last_eval_at == matched.last_eval_at == _at(MINUTES - 1)


def test_a_stored_rule_that_no_longer_loads_is_reported_not_fatal(store: Store) -> None:
    _series(store, "up", {"job": "a", "instance": "1"}, np.ones(MINUTES))
    _rules(store, {"alert": "Fine", "expr": "up > 0"})
    store.execute(  # as an older version or a hand edit could have left it
        "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, "
        "updated_at, updated_by) VALUES ('Broken', 'threshold', TRUE, 'warning', ?, 1, ?, 'x')",
        ['{"alert": "Broken", "expr": "sum(up"}', T0.to_pydatetime()],
    )
    alerts = _evaluate(store)
    assert set(alerts["rule_id"]) == {"Fine"}
    error = store.one("SELECT last_error FROM rules WHERE rule_id = 'Broken'")
    assert "does not load" in error and "invalid PromQL" in error
