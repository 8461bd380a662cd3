"""A small, known estate written straight into a real store, and an app environment for it.

Three services: ``checkout`` has a firing critical alert, ``payments`` is anomalous right
now (score 0.95) and had an alert and an incident earlier, ``search`` is quiet but has a
pending alert. Every sample is one minute apart and the newest is ``age`` old.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.clock import utc_now
from vigil.store import Store

HISTORY_MINUTES = 120
SERIES = [
    # series_id, metric, labels, service, host, recent score
    (1, "http_latency_seconds", {"instance": "web-1", "service": "checkout"}, "checkout",
     "web-1", 0.5),
    (2, "http_latency_seconds", {"instance": "pay-1", "service": "payments"}, "payments",
     "pay-1", 0.95),
    (3, "http_latency_seconds", {"instance": "search-1", "service": "search"}, "search",
     "search-1", 0.1),
    (4, "cpu_usage_ratio", {"instance": "web-1", "service": "checkout"}, "checkout",
     "web-1", 0.2),
]  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    """What was written, so tests can assert exact numbers against it."""

    data_dir: Path
    now: pd.Timestamp
    newest: pd.Timestamp


def _key(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{k}="{labels[k]}"' for k in sorted(labels)) + "}"


def _seed_series(store: Store, newest: pd.Timestamp) -> None:
    ts = pd.date_range(end=newest, periods=HISTORY_MINUTES, freq="1min")
    wave = 1.0 + 0.2 * np.sin(np.arange(HISTORY_MINUTES) / 10)
    for sid, metric, labels, service, host, recent in SERIES:
        store.execute(
            "INSERT INTO series (series_id, series_key, metric, labels, source, service, host) "
            "VALUES (?, ?, ?, ?, 'test', ?, ?)",
            [sid, _key(metric, labels), metric, json.dumps(labels, sort_keys=True), service, host],
        )
        score = np.where(np.arange(HISTORY_MINUTES) >= HISTORY_MINUTES - 5, recent, 0.05)
        frame = pd.DataFrame(
            {"series_id": sid, "ts": ts, "value": wave * sid + (score >= 0.9) * 3,
             "expected": wave * sid, "lower": wave * sid - 0.3, "upper": wave * sid + 0.3,
             "score": score}
        )  # fmt: skip
        cur = store.cursor
        cur.register("seed_frame", frame)
        cur.execute("INSERT INTO samples SELECT series_id, ts, value FROM seed_frame")
        cur.execute(
            "INSERT INTO scores SELECT series_id, ts, expected, lower, upper, score FROM seed_frame"
        )
        cur.unregister("seed_frame")


def _alert(store: Store, alert_id: str, sid: int, service: str, **fields: object) -> None:
    row = {
        "alert_id": alert_id, "fingerprint": f"fp-{alert_id}", "rule_id": f"rule-{alert_id}",
        "series_id": sid, "labels": json.dumps({"service": service}),
        "annotations": json.dumps({"summary": f"{service} {alert_id} summary"}),
        "severity": "warning", "service": service, "group_key": service,
    } | fields  # fmt: skip
    row = {k: v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for k, v in row.items()}
    names = ", ".join(row)
    store.execute(
        f"INSERT INTO alerts ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )


def seed_rule(store: Store) -> None:
    """One rule row, so the engine does not install the default pack into a test store."""
    store.execute(
        "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, updated_at, "
        "updated_by) VALUES ('test-rule', 'threshold', TRUE, 'warning', '{}', 1, ?, 'test')",
        [utc_now().to_pydatetime()],
    )


def seed(store: Store, now: pd.Timestamp, age: pd.Timedelta) -> pd.Timestamp:
    """Write the known estate; returns the newest sample time."""
    newest = (now - age).floor("min")
    seed_rule(store)
    _seed_series(store, newest)
    minutes = pd.Timedelta(minutes=1)
    _alert(store, "latency-critical", 1, "checkout", severity="critical", state="firing",
           active_at=now - 15 * minutes, fired_at=now - 10 * minutes,
           last_eval_at=now, value=2.5,
           annotations=json.dumps({"summary": "Checkout latency above baseline"}))  # fmt: skip
    _alert(store, "payments-old", 2, "payments", state="resolved",
           active_at=now - 95 * minutes, fired_at=now - 90 * minutes,
           resolved_at=now - 70 * minutes, last_eval_at=now - 70 * minutes, value=4.0)  # fmt: skip
    _alert(store, "search-pending", 3, "search", state="pending",
           active_at=now - 2 * minutes, last_eval_at=now, value=1.1)  # fmt: skip
    store.execute(
        "INSERT INTO incidents (incident_id, origin, kind, title, service, series_keys, "
        "affected_services, started_at, ended_at) VALUES (?, 'demo', 'db_slowdown', "
        "'Payments database slowdown', 'payments', ?, ?, ?, ?)",
        ["inc-1", json.dumps([_key(*SERIES[1][1:3])]), json.dumps(["payments", "checkout"]),
         (now - 95 * minutes).to_pydatetime(), (now - 65 * minutes).to_pydatetime()],
    )  # fmt: skip
    for job, status in (("pull", "ok"), ("evaluate", "failed")):
        store.execute(
            "INSERT INTO job_runs (job, started_at, ended_at, status, rows) VALUES (?, ?, ?, ?, 1)",
            [job, now.to_pydatetime(), now.to_pydatetime(), status],
        )
    return newest


def make_seeded(data_dir: Path, age: pd.Timedelta) -> Seeded:
    """A closed data dir holding the known estate, ready for an app process to open."""
    now = utc_now().floor("s")
    store = Store.open(data_dir)
    try:
        newest = seed(store, now, age)
    finally:
        store.close()
    return Seeded(data_dir, now, newest)


def app_env(data_dir: Path) -> dict[str, str]:
    """Settings for an app that only reads: no sources, no jobs, no config file."""
    return {
        "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false",
        "VIGIL_SCHEDULER_ENABLED": "false",
        "VIGIL_CONFIG": str(data_dir.parent / "absent-vigil.toml"),
        "VIGIL_LANGUAGE": "en",
    }


@pytest.fixture
def fresh_estate(tmp_path: Path) -> Seeded:
    return make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))


@pytest.fixture
def stale_estate(tmp_path: Path) -> Seeded:
    return make_seeded(tmp_path / "data", pd.Timedelta(hours=2))


@pytest.fixture
def empty_data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir)
    seed_rule(store)
    store.close()
    return data_dir


@pytest.fixture
def engine_reset() -> Iterator[None]:
    """The engine is a process singleton: every app test starts and ends without one."""
    from vigil.engine import reset_engine  # imported here: query tests need no engine

    reset_engine()
    yield
    reset_engine()


APP = Path(__file__).resolve().parents[2] / "app.py"


def signed_in(app, role: str = "admin", name: str = "tester"):
    """``app`` (an AppTest) as a signed-in user of ``role``: what a login leaves in the
    session state, set before the first run as a browser's login would."""
    from vigil.roles import Principal
    from vigil.session import PRINCIPAL_KEY

    app.session_state[PRINCIPAL_KEY] = Principal(name, role)
    return app


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    """``open_page(data_dir, "pages/x.py", **query)``: the app on that data dir, switched
    to the page, with the query parameters on both runs (the first sets the language)."""

    def factory(data_dir: Path, page: str, role: str = "admin", **query: str):
        from streamlit.testing.v1 import AppTest

        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=60), role)
        app.query_params.update(query)
        app.run()
        app = app.switch_page(page)
        app.query_params.update(query)
        return app.run()

    yield factory
