"""Alertmanager's webhook (version 4) in: check a payload whole, then store its alerts as
Vigil alert episodes.

Alertmanager sends a group's alerts together, again every ``repeat_interval`` while they
fire, and once more when they resolve. An alert is known by its fingerprint: a re-send of
a firing alert refreshes its open episode, a resolve closes it, and firing after a resolve
opens a new one (the lifecycle of Vigil's own alerts), each transition recorded in
``alert_events`` with actor ``alertmanager``. Received alerts have ``source =
'alertmanager'`` and ``rule_id = 'alertmanager:<alertname>'``, which rule evaluation,
keyed on Vigil's rule names, never touches.

A payload is checked completely before anything is written, so a bad one changes
nothing. One thread writes (:class:`Intake`): it commits every request queued meanwhile in
one transaction, since a DuckDB commit is the cost and a batch pays it once, and a request
is answered only after the transaction holding its alerts committed.
"""

from __future__ import annotations

import hmac
import logging
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

from pydantic import SecretStr

from vigil.clock import utc_now
from vigil.errors import IntakeError
from vigil.intake_payload import (
    ReceivedAlert,
    Webhook,
    alertmanager_fingerprint,
    parse_webhook,
)
from vigil.intake_store import write_alerts, write_retrying
from vigil.store import Store

__all__ = ["Intake", "IntakeError", "ReceivedAlert", "Webhook", "alertmanager_fingerprint",
           "parse_webhook", "write_alerts"]  # fmt: skip

log = logging.getLogger(__name__)
COMMIT_TIMEOUT_SECONDS = 30.0
_MAX_BATCH_ALERTS = 20_000


@dataclass(frozen=True)
class _Job:
    alerts: tuple[ReceivedAlert, ...]
    done: Future[None] = field(default_factory=Future)


class Intake:
    """The webhook endpoint's work (``vigil.http.IntakeApi``): check the bearer token,
    check the payload, and have the writer thread commit its alerts; answer after that."""

    def __init__(self, store: Store, token: SecretStr | str | None = None,
                 external_url: str = "", *,
                 commit_timeout: float = COMMIT_TIMEOUT_SECONDS) -> None:  # fmt: skip
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._token = secret.encode() if secret else None
        self._store, self._own_url, self._timeout = store, external_url, commit_timeout
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def authorized(self, authorization: str) -> bool:
        """True without a token; else only for ``Bearer <token>`` (constant-time compare)."""
        if self._token is None:
            return True
        scheme, _, credentials = authorization.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token
        )

    def receive(self, body: bytes) -> dict[str, int]:
        """Store a webhook body's alerts; :class:`IntakeError` (nothing stored) for a bad
        one, ``TimeoutError`` if not committed in time (it may still be: re-sends dedup)."""
        webhook = parse_webhook(body, utc_now().floor("us").to_pydatetime(), self._own_url)
        if webhook.alerts:
            self._submit(webhook.alerts).result(timeout=self._timeout)
        return {"received": webhook.received, "stored": len(webhook.alerts),
                "skipped": webhook.skipped}  # fmt: skip

    def close(self) -> None:
        """Commit what was accepted, then stop the writer; later requests are refused."""
        with self._lock:
            self._closed, thread = True, self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=self._timeout)

    def _submit(self, alerts: tuple[ReceivedAlert, ...]) -> Future[None]:
        job = _Job(alerts)
        with self._lock:
            if self._closed:
                raise RuntimeError("the intake is shutting down; nothing was stored")
            if self._thread is None:  # started on first use: most engines never receive
                self._thread = threading.Thread(target=self._run, name="vigil-intake",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._queue.put(job)
        return job.done

    def _run(self) -> None:
        stop = False
        while not stop:
            jobs, stop = self._take()
            if jobs:
                self._commit(jobs)

    def _take(self) -> tuple[list[_Job], bool]:
        """The next batch: whatever is queued, waiting only for the first; True to stop."""
        first = self._queue.get()
        if first is None:
            return [], True
        jobs, count = [first], len(first.alerts)
        while count < _MAX_BATCH_ALERTS:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            count += len(job.alerts)
        return jobs, False

    def _commit(self, jobs: Iterable[_Job]) -> None:
        jobs = list(jobs)
        try:
            write_retrying(self._store, [a for job in jobs for a in job.alerts])
        except Exception as exc:
            if len(jobs) > 1:  # one request's trouble must not fail the others with it
                for job in jobs:
                    self._commit([job])
                return
            log.exception("storing %d received alerts failed", len(jobs[0].alerts))
            jobs[0].done.set_exception(exc)
            return
        for job in jobs:
            job.done.set_result(None)
