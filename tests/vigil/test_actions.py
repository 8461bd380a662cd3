"""Every change the app can make, tried as each role: allowed where the role says, and
refused with nothing changed where it does not (the service checks, not the page)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.ui.conftest import make_seeded
from vigil.actions import Actions
from vigil.engine import Engine
from vigil.errors import PermissionDenied
from vigil.roles import ACTIONS, ROLES, WALL, Principal
from vigil.rule_versions import save_rule
from vigil.settings import load_settings
from vigil.silences_store import SilenceApi

RULE = "alert: DiskAlmostFull\nexpr: disk_used_ratio > 0.9\nfor: 5m\n"
RULES_FILE = "groups:\n- name: imported\n  rules:\n  - alert: Imported\n    expr: up == 0\n"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    books = seeded.data_dir / "runbooks"
    books.mkdir()
    (books / "db.md").write_text("# DB\n\n## Slow\n\nCheck the slow log.\n")
    settings = load_settings(data_dir=seeded.data_dir, demo_enabled=False, host_enabled=False,
                             scheduler_enabled=False, http_port=0)  # fmt: skip
    engine = Engine(settings)
    store = engine.store
    SilenceApi(store).add({"matchers": ['service="search"'], "duration": "1h",
                           "created_by": "seed", "comment": "seeded"})  # fmt: skip
    store.execute("INSERT INTO notifications (notification_id, alert_id, channel, payload, "
                  "status, attempts, created_at) VALUES ('n-1', 'payments-old', 'webhook', "
                  "'{}', 'dead', 8, now()::TIMESTAMP)")  # fmt: skip
    engine.knowledge.ingest_bytes("old.md", b"# Old\n\nstale notes\n")
    for threshold, editing in (("0.8", None), ("0.85", "Seeded")):  # one to roll back to
        save_rule(store, RULE.replace("0.9", threshold).replace("DiskAlmostFull", "Seeded"),
                  "seed", group="disks", editing=editing)  # fmt: skip
    yield engine
    engine.stop()


def _silence_id(engine: Engine) -> str:
    return str(engine.store.one("SELECT silence_id FROM silences WHERE comment = 'seeded'"))


# action -> how to attempt it
ATTEMPTS: dict[str, Callable[[Actions, Engine], object]] = {
    "alerts.acknowledge": lambda a, e: a.acknowledge("latency-critical", "on it"),
    "alerts.resolve": lambda a, e: a.resolve("search-pending", "done"),
    "alerts.note": lambda a, e: a.note("payments-old", "disk full", "rotated logs"),
    "silences.add": lambda a, e: a.silence(
        {"matchers": ['service="checkout"'], "duration": "1h", "comment": "deploy"}
    ),
    "silences.expire": lambda a, e: a.expire_silence(_silence_id(e)),
    "notifications.requeue": lambda a, e: a.requeue("n-1"),
    "rules.edit": lambda a, e: a.save_rule(RULE, "disks", None),
    "rules.enable": lambda a, e: a.set_enabled(False, names=["test-rule"]),
    "rules.rollback": lambda a, e: a.rollback_rule("Seeded", 1),
    "rules.import": lambda a, e: a.import_rules(RULES_FILE),
    "rules.install_pack": lambda a, e: a.install_pack("redis"),
    "knowledge.upload": lambda a, e: a.upload("notes.md", b"# Notes\n\nraise maxmemory\n"),
    "knowledge.delete": lambda a, e: a.delete_document("old.md"),
    "knowledge.reindex": lambda a, e: a.reindex(),
    "models.refit": lambda a, e: a.refit(),
}
SERVICE_ACTIONS = [a for a in ACTIONS if a in ATTEMPTS]


def test_every_mutating_action_of_the_app_is_tried_here() -> None:
    shown = {a for a in ACTIONS if not a.startswith(("settings.", "users.", "tokens.", "audit."))}
    assert shown == set(ATTEMPTS)


def _state(engine: Engine) -> str:
    """Everything a change could touch, as text."""
    store = engine.store
    tables = ("alerts", "alert_events", "incidents", "silences", "notifications", "rules",
              "rule_versions", "audit_log", "models")  # fmt: skip
    text = [store.df(f"SELECT * FROM {t} ORDER BY ALL").to_csv() for t in tables]
    text.append(json.dumps([(d.source, d.chunks) for d in engine.knowledge.documents()]))
    return "\n".join(text)


@pytest.mark.parametrize("role", [*ROLES, WALL, None])
def test_each_role_is_allowed_or_refused_as_the_roles_say(engine: Engine, role: str | None) -> None:
    principal = None if role is None else Principal(f"user-{role}", role)
    actions = Actions(engine, principal)
    for action in SERVICE_ACTIONS:
        before = _state(engine)
        if principal is not None and principal.may(action):
            ATTEMPTS[action](actions, engine)  # must simply work
            assert _state(engine) != before or action == "knowledge.reindex", action
        else:
            with pytest.raises(PermissionDenied):
                ATTEMPTS[action](actions, engine)
            assert _state(engine) == before, f"{action} as {role} changed something"
    if principal is not None and principal.may("alerts.acknowledge"):
        actors = set(engine.store.df("SELECT actor FROM audit_log")["actor"])
        assert f"user-{role}" in actors  # changes are recorded under the user's name


def test_every_change_lands_in_the_audit_log_under_its_author(engine: Engine) -> None:
    actions = Actions(engine, Principal("olga", "admin"))
    for action in SERVICE_ACTIONS:
        ATTEMPTS[action](actions, engine)
    audited = set(engine.store.df("SELECT action FROM audit_log WHERE actor = 'olga'")["action"])
    assert {
        "alert.acknowledge",
        "alert.resolve",
        "incident.note",
        "silence.add",
        "silence.expire",
        "notification.requeue",
        "rule.save",
        "rule.disable",
        "rule.rollback",
        "rule.import",
        "knowledge.upload",
        "knowledge.delete",
    } <= audited
