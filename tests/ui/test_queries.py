"""The UI's read services against a real store holding the known estate of conftest."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.ui.conftest import HISTORY_MINUTES, seed
from vigil import queries
from vigil.clock import utc_now
from vigil.store import Store

MINUTE = pd.Timedelta(minutes=1)


@pytest.fixture
def now() -> pd.Timestamp:
    return utc_now().floor("s")


@pytest.fixture
def fresh(store: Store, now: pd.Timestamp) -> pd.Timestamp:
    return seed(store, now, pd.Timedelta(seconds=30))


def _by_service(health: pd.DataFrame) -> dict[str, dict]:
    return health.set_index("service").to_dict("index")


def test_newest_sample_is_the_last_written(store: Store, fresh: pd.Timestamp) -> None:
    assert queries.newest_sample_ts(store) == fresh


def test_empty_store_has_no_newest_sample_and_counts_as_stale(store: Store) -> None:
    assert queries.newest_sample_ts(store) is None
    assert queries.is_stale(None, utc_now(), 300)


def test_stale_only_when_older_than_the_limit(now: pd.Timestamp) -> None:
    assert not queries.is_stale(now - pd.Timedelta(seconds=299), now, 300)
    assert queries.is_stale(now - pd.Timedelta(seconds=301), now, 300)


def test_estate_health_counts_and_statuses(store: Store, fresh, now) -> None:
    health = _by_service(queries.estate_health(store, now))
    assert set(health) == {"checkout", "payments", "search"}
    checkout, payments, search = health["checkout"], health["payments"], health["search"]
    assert (checkout["series"], checkout["firing"], checkout["pending"]) == (2, 1, 0)
    assert checkout["worst_severity"] == "critical"
    assert checkout["max_score"] == pytest.approx(0.5)
    assert checkout["status"] == "critical"
    assert (payments["firing"], payments["max_score"]) == (0, pytest.approx(0.95))
    assert payments["status"] == "warning"  # anomalous without an alert
    assert (search["pending"], search["worst_severity"], search["status"]) == (1, "warning", "ok")


def test_estate_health_ignores_scores_older_than_the_window(store: Store, now) -> None:
    seed(store, now, pd.Timedelta(hours=2))
    health = _by_service(queries.estate_health(store, now))
    assert pd.isna(health["payments"]["max_score"])
    assert health["payments"]["status"] == "ok"
    assert health["checkout"]["status"] == "critical"  # a firing alert stays firing


def test_firing_alerts_are_active_only_newest_first(store: Store, fresh, now) -> None:
    alerts = queries.firing_alerts(store, limit=10)
    assert alerts["alert_id"].tolist() == ["search-pending", "latency-critical"]
    critical = alerts.iloc[1]
    assert critical["summary"] == "Checkout latency above baseline"
    assert (critical["severity"], critical["state"], critical["value"]) == (
        "critical",
        "firing",
        2.5,
    )
    assert critical["since"] == now - 10 * MINUTE
    assert critical["labels"] == {"service": "checkout"}
    assert len(queries.firing_alerts(store, limit=1)) == 1


def test_firing_alerts_by_urgency_put_firing_critical_first(store: Store, fresh) -> None:
    alerts = queries.firing_alerts(store, order="urgency")
    assert alerts["alert_id"].tolist() == ["latency-critical", "search-pending"]


def test_top_anomalies_ranks_by_recent_score_with_band(store: Store, fresh) -> None:
    top = queries.top_anomalies(store, fresh, pd.Timedelta(hours=1), n=2)
    assert [(a.service, a.series_id) for a in top] == [("payments", 2), ("checkout", 1)]
    assert top[0].score == pytest.approx(0.95)
    frame = top[0].frame
    assert len(frame) == 60
    assert frame["ts"].max() == fresh
    assert frame[["expected", "lower", "upper"]].notna().all().all()
    assert (frame["lower"] <= frame["upper"]).all()


def test_top_anomalies_is_empty_without_scores(store: Store, now) -> None:
    assert queries.top_anomalies(store, now, pd.Timedelta(hours=1)) == []


def test_series_catalog_and_label_values(store: Store, fresh) -> None:
    catalog = queries.series_catalog(store)
    assert len(catalog) == 4
    row = catalog[catalog["series_id"] == 2].iloc[0]
    assert row["labels"] == {"instance": "pay-1", "service": "payments"}
    assert (row["service"], row["host"]) == ("payments", "pay-1")
    values = queries.label_values(store, "http_latency_seconds")
    services = values[values["label"] == "service"]
    assert services["value"].tolist() == ["checkout", "payments", "search"]
    assert services["series"].tolist() == [1, 1, 1]
    counts = queries.metric_counts(store).set_index("metric")["series"].to_dict()
    assert counts == {"cpu_usage_ratio": 1, "http_latency_seconds": 3}


def test_filter_catalog_matches_every_selected_label(store: Store, fresh) -> None:
    catalog = queries.series_catalog(store)
    metric = "http_latency_seconds"
    assert len(queries.filter_catalog(catalog, metric, {})) == 3
    picked = queries.filter_catalog(catalog, metric, {"service": ["payments", "search"]})
    assert picked["series_id"].tolist() == [2, 3]
    none = queries.filter_catalog(catalog, metric, {"service": ["payments"], "instance": ["web-1"]})
    assert none.empty


def test_series_window_joins_samples_with_scores(store: Store, fresh) -> None:
    window = queries.series_window(store, [2], fresh - 10 * MINUTE, fresh)
    assert len(window) == 10
    assert window["score"].tolist()[-5:] == [0.95] * 5
    everything = queries.series_window(store, [1, 2], fresh - 1000 * MINUTE, fresh)
    assert len(everything) == 2 * HISTORY_MINUTES


def test_alert_intervals_are_clipped_to_the_window(store: Store, fresh, now) -> None:
    spans = queries.alert_intervals(store, [1, 2], now - 2 * pd.Timedelta(hours=1), now)
    assert spans["alert_id"].tolist() == ["payments-old", "latency-critical"]
    old, current = spans.iloc[0], spans.iloc[1]
    assert (old["start"], old["end"]) == (now - 90 * MINUTE, now - 70 * MINUTE)
    assert (current["start"], current["end"]) == (now - 10 * MINUTE, now)
    recent = queries.alert_intervals(store, [1, 2], now - 60 * MINUTE, now)
    assert recent["alert_id"].tolist() == ["latency-critical"]
    assert queries.alert_intervals(store, [3], now - 60 * MINUTE, now).empty  # pending only


def test_incidents_between_overlap_and_touching(store: Store, fresh, now) -> None:
    incidents = queries.incidents_between(store, now - 2 * pd.Timedelta(hours=1), now)
    assert incidents["incident_id"].tolist() == ["inc-1"]
    assert incidents.iloc[0]["affected_services"] == ["payments", "checkout"]
    assert queries.incidents_between(store, now - 30 * MINUTE, now).empty
    assert len(queries.incidents_touching(incidents, "x", "checkout")) == 1
    assert queries.incidents_touching(incidents, "x", "search").empty


def test_recent_job_runs_newest_first(store: Store, fresh) -> None:
    runs = queries.recent_job_runs(store, 5)
    assert runs["job"].tolist() == ["evaluate", "pull"]
    assert len(queries.recent_job_runs(store, 1)) == 1


def test_alert_timeline_has_fired_episodes_only_clipped_to_the_window(
    store: Store, fresh, now
) -> None:
    start = now - pd.Timedelta(minutes=80)
    timeline = queries.alert_timeline(store, start, now)
    # the pending alert never fired; the resolved one is clipped at the window's start
    assert sorted(timeline["service"]) == ["checkout", "payments"]
    payments = timeline.set_index("service").loc["payments"]
    assert payments["start"] == start
    assert payments["end"] == now - pd.Timedelta(minutes=70)
    checkout = timeline.set_index("service").loc["checkout"]
    assert checkout["end"] == now  # still firing: lasts until now
