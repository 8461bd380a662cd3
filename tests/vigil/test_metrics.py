"""Vigil's own metrics, scraped over real HTTP from a real store."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.evaluate import evaluate_window
from jobs.runs import recorded_run
from jobs.scoring import ModelCache
from vigil import metrics
from vigil.clock import utc_now
from vigil.http import HttpServer, start_http_server
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

T0 = pd.Timestamp("2026-05-04 10:00")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class _Status:
    def __init__(self, phase: str, message: str = "") -> None:
        self.phase = phase
        self.message = message


def scrape(server: HttpServer) -> Samples:
    """Every sample of one ``/metrics`` scrape, keyed by (name, labels)."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _serve(store: Store, phase: str = "running") -> tuple[HttpServer, metrics.StoreCollector]:
    collector = metrics.bind_store(store, lambda: phase)
    server = start_http_server(
        "127.0.0.1", 0, metrics=metrics.render, health=lambda: _Status(phase)
    )
    return server, collector


@pytest.fixture
def served(store: Store) -> Iterator[HttpServer]:
    server, collector = _serve(store)
    yield server
    server.stop()
    metrics.unbind_store(collector)


def _series(store: Store, source: str, keys: list[str]) -> None:
    catalog = pd.DataFrame(
        {
            "series_key": keys,
            "metric": [k.split("{")[0] for k in keys],
            "labels": [{"k": k} for k in keys],
            "unit": None,
            "service": None,
            "host": None,
        }
    )
    samples = pd.DataFrame(
        {
            "series_key": [k for k in keys for _ in range(3)],
            "ts": [T0 + pd.Timedelta(minutes=m) for _ in keys for m in range(3)],
            "value": 1.0,
        }
    )
    ingest(store, source, PullResult(samples, catalog))


def _health(store: Store, source: str, success: str | None, error: str | None) -> None:
    store.execute(
        "INSERT INTO source_health (source, last_success, last_error_at, last_error, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            source,
            pd.Timestamp(success).to_pydatetime() if success else None,
            pd.Timestamp(error).to_pydatetime() if error else None,
            "boom" if error else None,
            T0.to_pydatetime(),
        ],
    )


def _episode(store: Store, fingerprint: str, minute: int, state: str) -> None:
    active = T0 + pd.Timedelta(minutes=minute)
    store.execute(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "state, active_at, last_eval_at) VALUES (?, ?, 'r', '{}', '{}', 'warning', ?, ?, ?)",
        [f"{fingerprint}-{minute}", fingerprint, state, active.to_pydatetime(), active],
    )


def test_store_state_is_exposed_as_the_rows_say(store: Store, served: HttpServer) -> None:
    _series(store, "demo", ['a{i="1"}', 'a{i="2"}', 'b{i="1"}'])
    _series(store, "prom", ['up{job="x"}'])
    _health(store, "demo", success="2026-05-04 10:05", error="2026-05-04 10:01")
    _health(store, "prom", success="2026-05-04 10:01", error="2026-05-04 10:05")
    _health(store, "host", success="2026-05-04 10:02", error=None)
    _health(store, "files", success=None, error="2026-05-04 10:03")
    _episode(store, "f1", 0, "resolved")
    _episode(store, "f1", 10, "firing")  # latest episode firing
    _episode(store, "f2", 0, "firing")
    _episode(store, "f2", 10, "resolved")  # latest resolved: not counted
    _episode(store, "f3", 5, "pending")
    _episode(store, "f4", 7, "firing")
    with recorded_run(store, "pull"):
        pass

    got = scrape(served)

    assert value(got, "vigil_alerts", state="firing") == 2
    assert value(got, "vigil_alerts", state="pending") == 1
    up = {s: value(got, "vigil_source_up", source=s) for s in ("demo", "prom", "host", "files")}
    assert up == {"demo": 1, "prom": 0, "host": 1, "files": 0}
    assert value(
        got, "vigil_source_last_success_timestamp_seconds", source="demo"
    ) == pytest.approx(pd.Timestamp("2026-05-04 10:05", tz="UTC").timestamp())
    assert value(got, "vigil_source_last_error_timestamp_seconds", source="prom") == pytest.approx(
        pd.Timestamp("2026-05-04 10:05", tz="UTC").timestamp()
    )
    assert ("vigil_source_last_error_timestamp_seconds", frozenset({("source", "host")})) not in got
    assert value(got, "vigil_series", source="demo") == 3
    assert value(got, "vigil_series", source="prom") == 1
    newest = (T0 + pd.Timedelta(minutes=2)).tz_localize("UTC").timestamp()
    assert value(got, "vigil_newest_sample_timestamp_seconds") == pytest.approx(newest)
    assert value(got, "vigil_job_last_success_timestamp_seconds", job="pull") > 0
    assert value(got, "vigil_engine_phase", phase="running") == 1
    assert value(got, "vigil_engine_phase", phase="failed") == 0
    assert value(got, "vigil_scrape_error") == 0


def test_recorded_runs_count_outcomes_and_durations(store: Store, served: HttpServer) -> None:
    before = scrape(served)
    for _ in range(2):
        with recorded_run(store, "metrics-job") as run:
            run.rows = 1
    with pytest.raises(RuntimeError), recorded_run(store, "metrics-job"):
        raise RuntimeError("source down")
    after = scrape(served)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("vigil_job_runs_total", job="metrics-job", status="ok") == 2
    assert delta("vigil_job_runs_total", job="metrics-job", status="failed") == 1
    assert delta("vigil_job_duration_seconds_count", job="metrics-job") == 3
    assert delta("vigil_job_duration_seconds_bucket", job="metrics-job", le="+Inf") == 3


def test_ingest_counts_exactly_the_new_samples(store: Store, served: HttpServer) -> None:
    keys = ['m{i="a"}', 'm{i="b"}']
    catalog = pd.DataFrame(
        {"series_key": keys, "metric": "m", "labels": [{"i": "a"}, {"i": "b"}],
         "unit": None, "service": None, "host": None}
    )  # fmt: skip

    def window(start: int, end: int) -> PullResult:
        ts = [T0 + pd.Timedelta(minutes=m) for m in range(start, end)]
        samples = pd.DataFrame(
            {"series_key": [k for k in keys for _ in ts], "ts": ts * len(keys), "value": 1.0}
        )
        return PullResult(samples, catalog)

    before = scrape(served)
    first = ingest(store, "metrics-src", window(0, 10))
    second = ingest(store, "metrics-src", window(5, 15))  # half already stored
    after = scrape(served)

    assert (first, second) == (20, 10)
    counted = value(after, "vigil_samples_ingested_total", source="metrics-src") - value(
        before, "vigil_samples_ingested_total", source="metrics-src"
    )
    assert counted == 30


def test_declared_jobs_are_exposed_at_zero_before_their_first_run(served: HttpServer) -> None:
    metrics.declare_jobs(["metrics-declared"])
    got = scrape(served)
    for status in ("ok", "failed"):
        key = ("vigil_job_runs_total", frozenset({("job", "metrics-declared"), ("status", status)}))
        assert got[key] == 0
    assert value(got, "vigil_job_duration_seconds_count", job="metrics-declared") == 0


def test_evaluation_passes_are_timed(store: Store, served: HttpServer) -> None:
    before = value(scrape(served), "vigil_evaluation_duration_seconds_count")
    evaluate_window(store, ModelCache(), T0, T0 + pd.Timedelta(minutes=5), 60)
    assert value(scrape(served), "vigil_evaluation_duration_seconds_count") == before + 1


def test_engine_phase_marks_only_the_current_phase(store: Store) -> None:
    server, collector = _serve(store, phase="backfilling")
    try:
        got = scrape(server)
    finally:
        server.stop()
        metrics.unbind_store(collector)
    phases = {p: value(got, "vigil_engine_phase", phase=p) for p in metrics.ENGINE_PHASES}
    assert phases.pop("backfilling") == 1
    assert set(phases.values()) == {0}


def test_a_scrape_of_a_closed_store_reports_a_scrape_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    server, collector = _serve(store)
    try:
        store.close()
        got = scrape(server)
    finally:
        server.stop()
        metrics.unbind_store(collector)
    assert value(got, "vigil_scrape_error") == 1
    assert value(got, "vigil_engine_phase", phase="running") == 1
    assert not any(name.startswith(("vigil_alerts", "vigil_series")) for name, _ in got)


def test_a_newer_binding_survives_the_older_one_unbinding(store: Store, tmp_path: Path) -> None:
    other = Store.open(tmp_path / "other")
    try:
        old = metrics.bind_store(other)
        new = metrics.bind_store(store)
        metrics.unbind_store(old)  # an old engine stopping late must not hide the new one
        body, _ = metrics.render()
        assert b"vigil_scrape_error 0.0" in body
        metrics.unbind_store(new)
        assert b"vigil_scrape_error" not in metrics.render()[0]
    finally:
        other.close()


def test_nothing_is_registered_in_the_global_registry() -> None:
    global_names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("vigil_") for name in global_names)


def test_fresh_detector_output_is_exposed_with_each_series_labels(
    store: Store, served: HttpServer
) -> None:
    now = utc_now().floor("min")
    keys = ['api_latency{instance="a"}', 'api_latency{instance="b"}']
    catalog = pd.DataFrame(
        {"series_key": keys, "metric": "api_latency",
         "labels": [{"instance": "a", "metric": "clash"}, {"instance": "b"}],
         "unit": None, "service": None, "host": None}
    )  # fmt: skip
    samples = pd.DataFrame(
        {"series_key": [keys[0], keys[0], keys[1]],
         "ts": [now - pd.Timedelta(minutes=1), now, now - pd.Timedelta(hours=1)],
         "value": [1.0, 2.5, 9.0]}
    )  # fmt: skip
    ingest(store, "test", PullResult(samples, catalog))
    store.execute(
        "INSERT INTO scores SELECT series_id, ts, 1.0, 0.5, 1.5, CASE WHEN value > 2 THEN 0.97 "
        "ELSE 0.1 END FROM samples"
    )
    got = scrape(served)
    labels = {"instance": "a", "exported_metric": "clash", "metric": "api_latency"}
    assert value(got, "vigil_anomaly_score", **labels) == 0.97  # the newest, not the older
    assert value(got, "vigil_baseline_lower", **labels) == 0.5
    assert value(got, "vigil_baseline_upper", **labels) == 1.5
    assert value(got, "vigil_series_value", **labels) == 2.5
    stale = [k for k in got if dict(k[1]).get("instance") == "b"]
    assert stale == []  # an hour old: a rule must not evaluate it as current
