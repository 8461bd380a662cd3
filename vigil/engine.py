"""The engine: the one owner of a data dir's database, its sources, models and jobs.

DuckDB allows one read-write process per file, so everything that writes goes through
the engine. ``vigil run`` and ``streamlit run app.py`` start it once per process
(:func:`get_engine`); ``vigil jobs`` runs it headless; one-shot commands (``vigil demo``,
``vigil refit``...) open it without the scheduler.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from jobs.backtest import backtest_file
from jobs.channels import build_channel
from jobs.dispatch import dispatch_notifications
from jobs.evaluate import EvaluateSummary, evaluate_window, last_evaluated
from jobs.forward import forward_job
from jobs.notify import NotifySummary, RetryPolicy, send_outbox
from jobs.pull import PartialPullError, pull_source
from jobs.refit import RefitSummary, refit_all
from jobs.retention import run_retention
from jobs.runs import recorded_run
from jobs.scheduler import REINDEX_INTERVAL_SECONDS, build_scheduler
from jobs.scoring import ModelCache
from jobs.snapshot import write_snapshot
from vigil import metrics
from vigil.alert_actions import act_on_alert
from vigil.alert_list import list_alerts
from vigil.api_token import ensure_api_token
from vigil.auth import ensure_first_admin
from vigil.clock import utc_now
from vigil.errors import BusyError
from vigil.http import HttpServer, start_http_server
from vigil.intake import Intake
from vigil.notification_log import list_notifications, requeue
from vigil.rule_versions import rule_query
from vigil.rules_store import export_rules, seed_default_rules
from vigil.settings import Settings, load_settings
from vigil.silences_store import SilenceApi
from vigil.sources.registry import build_sources
from vigil.store import Store

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase
    from vigil.backup import BackupResult

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
JOBS = ("pull", "evaluate", "dispatch", "notify", "forward", "refit", "retention", "snapshot",
        "reindex", "backup")  # fmt: skip


@dataclass(frozen=True)
class EngineStatus:
    phase: str  # starting | backfilling | fitting | evaluating | running | stopped | failed
    message: str
    progress: float
    started_at: pd.Timestamp


class Engine:
    """Process wiring around one data dir; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.open(settings.data_dir)
        self.sources = build_sources(settings)
        self.models = ModelCache()
        self.channels = {r.name: build_channel(r, settings.language) for r in settings.receivers}
        self._status = EngineStatus("starting", "", 0.0, utc_now())
        self._scheduler = None
        self._thread: threading.Thread | None = None
        self._refit_lock = threading.Lock()  # scheduled, start-up and manual refits take turns
        self._knowledge: KnowledgeBase | None = None
        self._knowledge_lock = threading.Lock()
        seed_default_rules(self.store)
        admin = self.settings.admin_password
        ensure_first_admin(self.store, self.settings.admin_user,
                           admin.get_secret_value() if admin else None)  # fmt: skip
        self._metrics = metrics.bind_store(self.store, lambda: self._status.phase)
        metrics.declare_jobs(list(JOBS))
        self.http = self._start_http()

    def _start_http(self) -> HttpServer | None:
        """/metrics and /healthz from the start, so start-up itself can be watched. A port
        already taken is logged, not fatal: the UI matters more than its metrics."""
        if not self.settings.http_port:
            return None
        try:
            return start_http_server(
                self.settings.http_host,
                self.settings.http_port,
                metrics=metrics.render,
                health=self.status,
                snapshot=lambda: str(self.snapshot()),
                alerts=lambda states: list_alerts(
                    self.store, states, self.settings.parsed_inhibit_rules()
                ),
                rules=lambda: export_rules(self.store),
                silences=SilenceApi(self.store),
                alert_action=lambda *args: act_on_alert(self.store, *args),
                backtest=self._backtest,
                rule_query=lambda what, query: rule_query(self.store, what, query),
                json_routes=self._json_routes(),
                api_token=ensure_api_token(self.settings.data_dir),
                intake=Intake(self.store, self.settings.intake_token, self.settings.external_url),
            )
        except OSError as exc:
            log.warning("engine HTTP port not started: %s", exc)
            return None

    def _json_routes(self) -> dict[tuple[str, str], Callable[[dict], dict]]:
        def notifications(query: dict) -> dict:
            statuses = [s for v in query.get("status", []) for s in v.split(",")]
            alert = (query.get("alert") or [None])[0]
            return {"notifications": list_notifications(self.store, statuses, alert)}

        def requeue_one(body: dict) -> dict:
            return requeue(self.store, str(body.get("notification_id", "")),
                           str(body.get("by") or "unknown"))  # fmt: skip

        def incident_note(body: dict) -> dict:
            from vigil.incident_notes import record_incident

            fields = [str(body.get(k) or "") for k in ("alert_id", "by", "cause", "fix", "comment")]
            return {"incident_id": record_incident(self.store, *fields)}

        def root_causes(query: dict) -> dict:
            from vigil.rca import rca_from_query

            return rca_from_query(self.store, self.settings, query)

        def ask(body: dict) -> dict:
            from knowledge.assistant import ask_request

            try:
                knowledge = self.knowledge
            except Exception:  # the answer goes on without runbooks
                log.exception("knowledge base unavailable")
                knowledge = None
            return ask_request(self.store, self.settings, knowledge, body)

        def backup(body: dict) -> dict:
            return self.backup(Path(str(body.get("out") or ""))).to_dict()

        return {("GET", "/api/v1/notifications"): notifications,
                ("POST", "/api/v1/backup"): backup,
                ("POST", "/api/v1/notifications/requeue"): requeue_one,
                ("POST", "/api/v1/alerts/note"): incident_note,
                ("GET", "/api/v1/rca"): root_causes,
                ("POST", "/api/v1/ask"): ask}  # fmt: skip

    def _backtest(self, request: dict) -> list[dict]:
        """The HTTP port's backtest: a rule file's text, optionally one rule, days back."""
        days = request.get("days", 7)
        if not isinstance(days, int | float) or isinstance(days, bool):
            raise ValueError("days must be a number")
        rule = request.get("rule")
        return backtest_file(
            self.store, str(request.get("file", "")), None if rule is None else str(rule),
            float(days), self.settings.evaluate_interval_seconds, utc_now(),
        )  # fmt: skip

    def status(self) -> EngineStatus:
        return self._status

    def _set(self, phase: str, message: str = "", progress: float = 0.0) -> None:
        self._status = replace(self._status, phase=phase, message=message, progress=progress)

    def pull_all(self, progress: Progress | None = None) -> int:
        """Bring every source up to now; a failing source does not stop the others."""
        total = 0
        for source in self.sources:
            try:
                total += pull_source(
                    self.store, source, self.settings.step_seconds, progress=progress
                )
            except PartialPullError as exc:  # already in source_health; no traceback to add
                total += exc.added
                log.warning("pull incomplete: %s", exc)
            except Exception:
                log.exception("pull from %s failed", source.name)
        return total

    def refit(self, progress: Callable[[int, int], None] | None = None) -> RefitSummary:
        """Fit every series; raises :class:`BusyError` while another refit runs."""
        if not self._refit_lock.acquire(blocking=False):
            raise BusyError("a refit is already running; its models will be used when it ends")
        try:
            return refit_all(
                self.store,
                self.settings.models_dir,
                training_days=self.settings.training_days,
                step_seconds=self.settings.step_seconds,
                progress=progress,
            )
        finally:
            self._refit_lock.release()

    def refit_now(self, progress: Callable[[int, int], None] | None = None) -> RefitSummary:
        """A refit asked for by hand (Models page), recorded as a run of the refit job."""
        with recorded_run(self.store, "refit") as run:
            summary = self.refit(progress)
            run.rows = summary.fitted
        return summary

    def evaluate(
        self, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
    ) -> EvaluateSummary:
        """Score and evaluate rules over [since, until]; by default from the last evaluation."""
        until = until if until is not None else utc_now()
        if since is None:
            since = last_evaluated(self.store) or until - pd.Timedelta(
                days=self.settings.demo_backfill_days or 1
            )
        return evaluate_window(
            self.store, self.models, since, until, self.settings.evaluate_interval_seconds
        )

    def build_history(
        self, days: int, pulled: Progress | None = None,
        fitted: Callable[[int, int], None] | None = None,
    ) -> pd.Timestamp:  # fmt: skip
        """What ``vigil demo`` (and the benchmarks) start from: every source pulled, every
        series fitted, and the rules replayed over the last ``days``; returns that "now"."""
        self.pull_all(pulled)
        self.refit(fitted)
        now = utc_now()
        self.evaluate(since=now - pd.Timedelta(days=days), until=now)
        return now

    def dispatch(self) -> int:
        """Group alerts and write the notifications due now into the outbox."""
        s = self.settings
        return dispatch_notifications(self.store, utc_now(), s.routing_tree(),
                                      s.parsed_inhibit_rules(), s.external_url,
                                      s.parsed_time_intervals())  # fmt: skip

    def notify(self) -> NotifySummary:
        """Send the outbox's notifications that are due (see :mod:`jobs.notify`)."""
        s = self.settings
        limits = {r.name: r.rate_limit_per_minute for r in s.receivers}
        policy = RetryPolicy(s.notify_max_attempts, s.notify_backoff_seconds,
                             s.notify_backoff_max_seconds)  # fmt: skip
        return send_outbox(self.store, self.channels, limits, policy)

    def retention(self) -> int:
        s = self.settings
        return run_retention(self.store, utc_now(), s.retention_days, s.rollup_retention_days).rows

    @property
    def knowledge(self) -> KnowledgeBase:
        """The knowledge base in the data dir, opened on first use (Chroma and its index
        load only when something searches or the reindex job runs)."""
        with self._knowledge_lock:
            if self._knowledge is None:
                from knowledge.base import KnowledgeBase

                self._knowledge = KnowledgeBase.open(self.settings)
            return self._knowledge

    def reindex_knowledge(self) -> int:
        """Runbooks and resolved incidents into the knowledge base (see :mod:`jobs.reindex`)."""
        from jobs.reindex import reindex_knowledge

        return reindex_knowledge(self.knowledge, self.settings, self.store)

    def reindex_incidents(self) -> int:
        """Just the noted incidents, right after someone records one."""
        from jobs.reindex import index_incidents

        return index_incidents(self.knowledge, self.store)

    def backup(self, out: Path) -> BackupResult:
        """A consistent archive of the data dir at ``out`` (see :mod:`vigil.backup`)."""
        from vigil.backup import check_out_path, copy_collections, take_backup

        def knowledge(target: Path) -> dict[str, int]:
            kb = self.knowledge
            with kb._lock:  # the knowledge base's writers take turns on it
                return copy_collections(kb._client, target)

        return take_backup(self.store, self.settings, check_out_path(out), knowledge)

    def scheduled_backup(self) -> int:
        """The backup job: a new archive in the backup dir, the newest few kept."""
        from jobs.backup import scheduled_backup

        s = self.settings
        backups = s.backup_dir or s.data_dir / "backups"
        return scheduled_backup(self.backup, backups, s.backup_keep, utc_now()).files

    def snapshot(self) -> Path:
        """Parquet copies of the main tables for notebooks, readable while the engine runs."""
        return write_snapshot(self.store, self.settings.snapshots_dir, utc_now())

    def _bootstrap(self) -> None:
        """Catch up after (re)start, then hand over to the scheduler."""
        try:
            self._set("backfilling", "pulling sources")
            with recorded_run(self.store, "pull") as run:
                run.rows = self.pull_all(lambda f, m: self._set("backfilling", m, f))
            if self.store.one("SELECT count(*) FROM baselines") == 0:
                self._set("fitting", "fitting models")
                with recorded_run(self.store, "refit") as run:
                    summary = self.refit(
                        lambda i, n: self._set("fitting", f"fitting models {i}/{n}", i / max(n, 1))
                    )
                    run.rows = summary.fitted
            self._set("evaluating", "evaluating rules over history")
            with recorded_run(self.store, "evaluate") as run:
                run.rows = self.evaluate().alerts
            self._start_scheduler()
            self._set("running", "", 1.0)
        except Exception as exc:
            log.exception("engine start-up failed")
            self._set("failed", f"{type(exc).__name__}: {exc}")

    def _start_scheduler(self) -> None:
        s = self.settings
        self._scheduler = build_scheduler(
            self.store,
            {
                "pull": (s.pull_interval_seconds, self.pull_all),
                "evaluate": (s.evaluate_interval_seconds, lambda: self.evaluate().alerts),
                "dispatch": (s.dispatch_interval_seconds, self.dispatch),
                "notify": (s.notify_interval_seconds, lambda: self.notify().sent),
                "forward": (s.forward_interval_seconds, lambda: forward_job(self.store, s)),
                "refit": (s.refit_interval_seconds, lambda: self.refit().fitted),
                "retention": (s.retention_interval_seconds, self.retention),
                "snapshot": (s.snapshot_interval_seconds, lambda: int(bool(self.snapshot()))),
                "reindex": (REINDEX_INTERVAL_SECONDS, self.reindex_knowledge),
            } | ({"backup": (round(s.backup_interval_hours * 3600), self.scheduled_backup)}
                 if s.backup_interval_hours else {}),
        )  # fmt: skip
        self._scheduler.start()

    def start_background(self) -> None:
        """Start catch-up and the scheduler in the background (idempotent)."""
        if self._thread is None and self.settings.scheduler_enabled:
            self._thread = threading.Thread(
                target=self._bootstrap, name="vigil-bootstrap", daemon=True
            )
            self._thread.start()
        elif not self.settings.scheduler_enabled:
            self._set("running", "scheduler disabled", 1.0)

    def wait_until_ready(self, timeout: float | None = None) -> EngineStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self.http is not None:
            self.http.stop()
            self.http = None
        with self._knowledge_lock:
            if self._knowledge is not None:
                self._knowledge.close()
                self._knowledge = None
        metrics.unbind_store(self._metrics)
        self.store.close()
        self._set("stopped")


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine, created and started on first use."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine(settings or load_settings())
            _ENGINE.start_background()
            atexit.register(reset_engine)
        return _ENGINE


def reset_engine() -> None:
    """Stop and forget the process-wide engine (shutdown and tests)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is not None:
            _ENGINE.stop()
            _ENGINE = None
