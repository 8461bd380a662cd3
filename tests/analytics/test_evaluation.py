from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.evaluation import alert_groups_frame, alert_precision, incident_recall

T0 = pd.Timestamp("2024-03-01")
NOW = T0 + pd.Timedelta(hours=10)


def minutes(m: float | None) -> pd.Timestamp:
    return pd.NaT if m is None else T0 + pd.Timedelta(minutes=m)


def incidents(rows: list[tuple]) -> pd.DataFrame:
    """(id, kind, service, affected, start minute, end minute or None)."""
    return pd.DataFrame(
        {
            "incident_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "service": [r[2] for r in rows],
            "affected_services": [r[3] for r in rows],
            "started_at": [minutes(r[4]) for r in rows],
            "ended_at": [minutes(r[5]) for r in rows],
        }
    )


def groups(rows: list[tuple]) -> pd.DataFrame:
    """(services, start minute, end minute) per group."""
    return pd.DataFrame(
        {
            "group_id": np.arange(len(rows)),
            "services": [tuple(r[0]) for r in rows],
            "rules": [("R",)] * len(rows),
            "start": [minutes(r[1]) for r in rows],
            "end": [minutes(r[2]) for r in rows],
            "alerts": [1] * len(rows),
        }
    )


def test_alert_groups_frame_summarises_each_group() -> None:
    alerts = pd.DataFrame(
        {
            "alert_id": ["1", "2", "3", "4"],
            "rule_id": ["Lat", "Err", "Lat", "Mem"],
            "service": ["orders", "cart", "orders", None],
            "severity": ["warning"] * 4,
            "fired_at": [minutes(10), minutes(5), minutes(20), minutes(0)],
            "resolved_at": [minutes(30), pd.NaT, minutes(25), minutes(3)],
        }
    )
    frame = alert_groups_frame(alerts, np.array([1, 1, 1, 0]), NOW)
    assert list(frame["group_id"]) == [0, 1]
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["services"] == () and first["rules"] == ("Mem",) and first["alerts"] == 1
    assert second["services"] == ("cart", "orders")
    assert second["rules"] == ("Err", "Lat")
    assert second["start"] == minutes(5)
    assert second["end"] == NOW  # one alert still firing
    assert second["alerts"] == 3


def test_alert_groups_frame_of_no_alerts() -> None:
    empty = pd.DataFrame(columns=["rule_id", "service", "fired_at", "resolved_at"])
    frame = alert_groups_frame(empty, np.array([], dtype=int), NOW)
    assert frame.empty
    assert {"group_id", "services", "rules", "start", "end", "alerts"} <= set(frame.columns)


def test_incident_detected_by_group_on_root_or_affected_service() -> None:
    inc = incidents(
        [
            ("i1", "latency", "db", ["orders"], 100, 130),
            ("i2", "latency", "cache", [], 300, 320),
            ("i3", "memory", "host", [], 500, 510),
        ]
    )
    grp = groups([(["orders"], 110, 140), (["host"], 400, 420), (["cache"], 600, 610)])
    result = incident_recall(inc, grp)
    assert result.recall == 1 / 3
    assert result.detected == 1 and result.total == 3
    assert result.missed == ["i2", "i3"]
    assert result.by_kind == {"latency": 0.5, "memory": 0.0}


def test_lead_and_grace_widen_the_incident_window() -> None:
    inc = incidents([("i1", "k", "svc", [], 100, 110)])
    early = groups([(["svc"], 90, 96)])  # ends 4 minutes before the start
    late = groups([(["svc"], 135, 150)])  # starts 25 minutes after the end
    too_late = groups([(["svc"], 141, 150)])
    assert incident_recall(inc, early, lead_seconds=300).recall == 1.0
    assert incident_recall(inc, early, lead_seconds=120).recall == 0.0
    assert incident_recall(inc, late, grace_seconds=1800).recall == 1.0
    assert incident_recall(inc, too_late, grace_seconds=1800).recall == 0.0


def test_ongoing_incident_has_an_open_window() -> None:
    inc = incidents([("i1", "k", "svc", [], 100, None)])
    assert incident_recall(inc, groups([(["svc"], 5000, 5001)])).recall == 1.0


def test_recall_without_incidents_or_groups() -> None:
    assert incident_recall(incidents([]), groups([(["a"], 0, 1)])).recall == 1.0
    result = incident_recall(incidents([("i1", "k", "a", [], 0, 1)]), groups([]))
    assert (result.recall, result.missed) == (0.0, ["i1"])


def test_precision_counts_groups_matching_some_incident() -> None:
    inc = incidents([("i1", "k", "db", ["orders", "cart"], 100, 130)])
    grp = groups(
        [
            (["cart"], 120, 125),  # matches
            (["orders", "search"], 90, 140),  # matches through one service
            (["search"], 110, 120),  # right time, wrong service
            (["db"], 900, 910),  # right service, wrong time
        ]
    )
    result = alert_precision(inc, grp)
    assert (result.precision, result.false_groups, result.total) == (0.5, 2, 4)


def test_precision_without_groups_or_incidents() -> None:
    assert alert_precision(incidents([]), groups([])).precision == 1.0
    result = alert_precision(incidents([]), groups([(["a"], 0, 1)]))
    assert (result.precision, result.false_groups) == (0.0, 1)


def test_group_without_services_matches_nothing() -> None:
    inc = incidents([("i1", "k", "db", [], 100, 130)])
    assert alert_precision(inc, groups([([], 100, 130)])).precision == 0.0
