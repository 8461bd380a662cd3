"""Vigil's own Prometheus metrics: what the engine did, and what its database holds.

Two kinds of numbers live here. Event counters and timings (job runs, samples ingested,
evaluation time) are recorded by the code that does the work and reset with the process,
as Prometheus counters should. Everything that describes *state* (alerts by state, source
health, series counts, newest sample, the engine's phase) is read from the store at scrape
time by :class:`StoreCollector`, so it is the database's truth, also right after a restart.

All of it sits in a dedicated :data:`REGISTRY`, not prometheus_client's global one, so
importing Vigil into another instrumented process (a notebook, a test run with several
engines) registers nothing globally and never clashes.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from vigil.clock import utc_now
from vigil.store import Store

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

# Jobs range from a sub-second pull to a refit of every series taking many minutes.
_JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))
_EVAL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))

JOB_RUNS = Counter(
    "vigil_job_runs",
    "Background job runs since the process started, by job and outcome (ok | failed).",
    ["job", "status"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "vigil_job_duration_seconds",
    "Wall time of background job runs, failed ones included.",
    ["job"],
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
SAMPLES_INGESTED = Counter(
    "vigil_samples_ingested",
    "Samples newly stored per source (re-pulled duplicates are not counted).",
    ["source"],
    registry=REGISTRY,
)
EVALUATION_DURATION = Histogram(
    "vigil_evaluation_duration_seconds",
    "Wall time of one scoring and rule-evaluation pass over a window.",
    buckets=_EVAL_BUCKETS,
    registry=REGISTRY,
)

NOTIFICATIONS = Counter(
    "vigil_notification_attempts",
    "Attempts to deliver a notification, by channel kind and outcome (sent | retry | dead).",
    ["channel", "outcome"],
    registry=REGISTRY,
)

# Every phase the engine reports, so each one is a stable series (0 or 1) Prometheus can
# alert on with `vigil_engine_phase{phase="failed"} == 1`.
ENGINE_PHASES = (
    "starting",
    "backfilling",
    "fitting",
    "evaluating",
    "running",
    "stopped",
    "failed",
)
ALERT_STATES = ("pending", "firing")
DETECTOR_FRESHNESS = pd.Timedelta(minutes=10)
DETECTOR_SERIES = {
    "vigil_anomaly_score": "Newest anomaly score in [0, 1] of each series Vigil models.",
    "vigil_baseline_lower": "Lower edge of each series' baseline band (expected - 3 scales).",
    "vigil_baseline_upper": "Upper edge of each series' baseline band (expected + 3 scales).",
    "vigil_series_value": "The value the newest anomaly score was computed for.",
}

PhaseFn = Callable[[], str]


def _epoch_seconds(value: Any) -> float:
    """Seconds since the epoch of a naive-UTC timestamp as DuckDB returns it."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.timestamp()


class StoreCollector:
    """Reads the store on every scrape; never raises, whatever the store does.

    A scrape that cannot read the store still answers: it reports ``vigil_scrape_error 1``
    (and the engine phase, which does not need the store) instead of failing the whole
    scrape, because Prometheus would then only see ``up == 0`` and lose the reason.
    """

    def __init__(self, store: Store, phase: PhaseFn | None = None) -> None:
        self.store = store
        self.phase = phase

    def describe(self) -> Iterable[Metric]:
        """Names only, so registration neither touches the store nor allows duplicates."""
        names = (
            "vigil_alerts",
            "vigil_source_up",
            "vigil_source_last_success_timestamp_seconds",
            "vigil_source_last_error_timestamp_seconds",
            "vigil_series",
            "vigil_newest_sample_timestamp_seconds",
            "vigil_job_last_success_timestamp_seconds",
            "vigil_engine_phase",
            "vigil_scrape_error",
            *DETECTOR_SERIES,
        )
        return [GaugeMetricFamily(name, name) for name in names]

    def collect(self) -> Iterator[Metric]:
        phase = self._phase_family()
        if phase is not None:
            yield phase
        try:
            families = self._store_families()
        except Exception as exc:
            log.warning("metrics scrape could not read the store: %s: %s", type(exc).__name__, exc)
            yield _scrape_error(1)
            return
        yield from families
        yield _scrape_error(0)

    def _phase_family(self) -> GaugeMetricFamily | None:
        if self.phase is None:
            return None
        try:
            current = str(self.phase())
        except Exception:
            log.warning("engine phase unavailable for metrics", exc_info=True)
            return None
        family = GaugeMetricFamily(
            "vigil_engine_phase",
            "1 for the engine's current phase, 0 for the others.",
            labels=["phase"],
        )
        for name in (*ENGINE_PHASES, *(() if current in ENGINE_PHASES else (current,))):
            family.add_metric([name], 1.0 if name == current else 0.0)
        return family

    def _store_families(self) -> list[Metric]:
        """All store-derived families, built completely before any is yielded."""
        return [
            self._alerts(),
            self._outbox(),
            *self._sources(),
            self._series(),
            self._newest_sample(),
            self._jobs(),
            *self._detector_series(),
        ]

    def _alerts(self) -> GaugeMetricFamily:
        rows = self.store.cursor.execute(
            """
            SELECT state, count(*) FROM (
                SELECT arg_max(state, (active_at, alert_id)) AS state
                FROM alerts GROUP BY fingerprint
            ) GROUP BY state
            """
        ).fetchall()
        counts = dict(rows)
        family = GaugeMetricFamily(
            "vigil_alerts",
            "Alerts whose latest episode is pending or firing, by state.",
            labels=["state"],
        )
        for state in ALERT_STATES:
            family.add_metric([state], float(counts.get(state, 0)))
        return family

    def _outbox(self) -> GaugeMetricFamily:
        """Dead letters and a growing pending count are what to alert on."""
        rows = self.store.cursor.execute(
            "SELECT channel, status, count(*) FROM notifications GROUP BY ALL"
        ).fetchall()
        family = GaugeMetricFamily(
            "vigil_notifications",
            "Notifications in the outbox by receiver and status (pending | sent | dead | skipped).",
            labels=["receiver", "status"],
        )
        for receiver, status, count in rows:
            family.add_metric([receiver, status], float(count))
        return family

    def _sources(self) -> list[GaugeMetricFamily]:
        rows = self.store.cursor.execute(
            "SELECT source, last_success, last_error_at FROM source_health ORDER BY source"
        ).fetchall()
        up = GaugeMetricFamily(
            "vigil_source_up",
            "1 when the source's last pull succeeded (no error since its last success).",
            labels=["source"],
        )
        success = GaugeMetricFamily(
            "vigil_source_last_success_timestamp_seconds",
            "When the source was last pulled successfully.",
            labels=["source"],
        )
        error = GaugeMetricFamily(
            "vigil_source_last_error_timestamp_seconds",
            "When a pull from the source last failed.",
            labels=["source"],
        )
        for source, last_success, last_error_at in rows:
            healthy = last_error_at is None or (
                last_success is not None and last_success >= last_error_at
            )
            up.add_metric([source], 1.0 if healthy else 0.0)
            if last_success is not None:
                success.add_metric([source], _epoch_seconds(last_success))
            if last_error_at is not None:
                error.add_metric([source], _epoch_seconds(last_error_at))
        return [up, success, error]

    def _series(self) -> GaugeMetricFamily:
        rows = self.store.cursor.execute(
            "SELECT source, count(*) FROM series GROUP BY source ORDER BY source"
        ).fetchall()
        family = GaugeMetricFamily("vigil_series", "Series stored per source.", labels=["source"])
        for source, count in rows:
            family.add_metric([source], float(count))
        return family

    def _newest_sample(self) -> GaugeMetricFamily:
        newest = self.store.one("SELECT max(ts) FROM samples")
        family = GaugeMetricFamily(
            "vigil_newest_sample_timestamp_seconds",
            "Timestamp of the newest stored sample; compare with time() to see staleness.",
        )
        if newest is not None:
            family.add_metric([], _epoch_seconds(newest))
        return family

    def _jobs(self) -> GaugeMetricFamily:
        rows = self.store.cursor.execute(
            "SELECT job, max(ended_at) FROM job_runs WHERE status = 'ok' GROUP BY job ORDER BY job"
        ).fetchall()
        family = GaugeMetricFamily(
            "vigil_job_last_success_timestamp_seconds",
            "When each background job last finished successfully (survives restarts).",
            labels=["job"],
        )
        for job, ended_at in rows:
            if ended_at is not None:
                family.add_metric([job], _epoch_seconds(ended_at))
        return family

    def _detector_series(self) -> list[Metric]:
        """Each series' newest detector output of the last ``DETECTOR_FRESHNESS``, with the
        series' labels and its metric name as ``metric``: what rules exported by Vigil
        (``analytics.rule_files``) evaluate in a Prometheus that scrapes the engine."""
        since = (utc_now() - DETECTOR_FRESHNESS).to_pydatetime()
        rows = self.store.cursor.execute(
            """
            WITH newest AS (
                SELECT series_id, max(ts) AS ts FROM scores WHERE ts >= ? GROUP BY series_id
            )
            SELECT s.metric, s.labels, c.score, c.lower, c.upper, v.value
            FROM newest n JOIN scores c USING (series_id, ts)
            JOIN series s USING (series_id)
            LEFT JOIN samples v ON v.series_id = n.series_id AND v.ts = n.ts
            ORDER BY s.series_id
            """,
            [since],
        ).fetchall()
        families = {
            name: Metric(name, help_text, "gauge") for name, help_text in DETECTOR_SERIES.items()
        }
        for metric, labels_text, score, lower, upper, value in rows:
            labels = {**_renamed(json.loads(labels_text)), "metric": str(metric)}
            for name, number in zip(DETECTOR_SERIES, (score, lower, upper, value), strict=True):
                if number is not None and math.isfinite(number):
                    families[name].add_sample(name, labels, float(number))
        return list(families.values())


def _renamed(labels: dict[str, str]) -> dict[str, str]:
    """A series' own ``metric`` label becomes ``exported_metric``, as Prometheus renames a
    clashing target label."""
    return {("exported_metric" if k == "metric" else k): str(v) for k, v in labels.items()}


def _scrape_error(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "vigil_scrape_error",
        "1 when this scrape could not read Vigil's database.",
        value=float(value),
    )


def declare_jobs(jobs: Iterable[str]) -> None:
    """Create every job's counters at zero before its first run.

    A labelled counter otherwise appears only at its first increment, and Prometheus'
    ``increase()`` cannot see that first run; alerting on failed runs needs the zero.
    """
    for job in jobs:
        for status in ("ok", "failed"):
            JOB_RUNS.labels(job, status)
        JOB_DURATION.labels(job)


_bound: StoreCollector | None = None
_bind_lock = threading.Lock()


def bind_store(store: Store, phase: PhaseFn | None = None) -> StoreCollector:
    """Expose ``store`` (and the engine phase ``phase()``) on :data:`REGISTRY`.

    One store is exposed at a time: binding another replaces the previous one, so a
    restarted engine in the same process reports its own database.
    """
    global _bound
    collector = StoreCollector(store, phase)
    with _bind_lock:
        if _bound is not None:
            REGISTRY.unregister(_bound)
        REGISTRY.register(collector)
        _bound = collector
    return collector


def unbind_store(collector: StoreCollector | None = None) -> None:
    """Stop exposing a store; with ``collector``, only if it is still the bound one.

    The guard lets an engine that is shutting down unbind itself without removing a
    newer engine's binding.
    """
    global _bound
    with _bind_lock:
        if _bound is None or (collector is not None and collector is not _bound):
            return
        REGISTRY.unregister(_bound)
        _bound = None


def render(accept: str = "") -> tuple[bytes, str]:
    """The registry in the exposition format the scraper's ``Accept`` header asks for.

    Without a header this is the classic text format; Prometheus itself asks for
    OpenMetrics and gets it.
    """
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type
