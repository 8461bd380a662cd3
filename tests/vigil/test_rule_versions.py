"""Editing rules one at a time: every save a version with its diff, rollback to any
version, enabling by name or group, and bad input that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.rules import RuleValidationError
from tests.conftest import run_vigil, serving_engine
from tests.sources.promserver import free_port
from vigil.errors import VigilError
from vigil.rule_versions import (
    delete_rule,
    list_rules,
    rollback_rule,
    rule_history,
    save_rule,
    set_enabled,
)
from vigil.rules_store import enabled_rules
from vigil.store import Store

FIRST = """\
alert: QueueDeep
expr: queue_depth > 100
for: 5m
labels:
  severity: warning
"""


def _snapshot(store: Store) -> tuple[pd.DataFrame, ...]:
    return tuple(store.df(f"SELECT * FROM {t} ORDER BY ALL")
                 for t in ("rules", "rule_versions", "audit_log"))  # fmt: skip


def test_each_save_is_a_version_with_author_and_diff(store: Store) -> None:
    assert save_rule(store, FIRST, "alice", group="queues").version == 1
    second = save_rule(store, FIRST.replace("> 100", "> 500"), "bob", group="queues",
                       editing="QueueDeep")  # fmt: skip
    assert (second.version, second.changed) == (2, True)
    same = save_rule(store, FIRST.replace("> 100", "> 500"), "carol", group="queues",
                     editing="QueueDeep")  # fmt: skip
    assert (same.version, same.changed) == (2, False)  # nothing new: no version
    history = rule_history(store, "QueueDeep")
    assert [(h["version"], h["author"]) for h in history] == [(2, "bob"), (1, "alice")]
    assert "-expr: queue_depth > 100\n+expr: queue_depth > 500" in history[0]["diff"]
    assert history[1]["diff"] is None and "queue_depth > 100" in history[1]["text"]
    [rule] = enabled_rules(store)
    assert (rule.threshold, rule.group) == (500.0, "queues")


def test_rollback_brings_an_old_version_back_as_a_new_one(store: Store) -> None:
    save_rule(store, FIRST, "alice", group="queues")
    save_rule(store, FIRST.replace("5m", "10m"), "bob", group="queues", editing="QueueDeep")
    back = rollback_rule(store, "QueueDeep", 1, "carol")
    assert (back.version, back.changed) == (3, True)
    [rule] = enabled_rules(store)
    assert rule.for_seconds == 300
    newest = rule_history(store, "QueueDeep")[0]
    assert newest["author"] == "carol" and "-for: 10m\n+for: 5m" in newest["diff"]
    actions = store.df("SELECT actor, action FROM audit_log ORDER BY audit_id")
    assert actions.values.tolist() == [["alice", "rule.save"], ["bob", "rule.save"],
                                       ["carol", "rule.rollback"]]  # fmt: skip


def test_rules_are_enabled_by_name_or_by_group(store: Store) -> None:
    for name, group in (("A", "g1"), ("B", "g1"), ("C", "g2")):
        save_rule(store, f"alert: {name}\nexpr: up == 0\n", "alice", group=group)
    assert set_enabled(store, False, "bob", group="g1") == ["A", "B"]
    assert [r.name for r in enabled_rules(store)] == ["C"]
    assert set_enabled(store, False, "bob", names=["A", "C"]) == ["C"]  # A already off
    assert set_enabled(store, True, "bob", names=["B"]) == ["B"]
    listed = {r["name"]: r for r in list_rules(store)}
    assert [listed[n]["enabled"] for n in "ABC"] == [False, True, False]
    assert listed["A"]["version"] == 1  # enabling is not a new version
    after = store.df("SELECT after FROM audit_log WHERE action = 'rule.enable'")["after"]
    assert [json.loads(a) for a in after] == [{"enabled": True}]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: save_rule(s, FIRST.replace("5m", "5x"), "eve", group="q"), "line 3"),
        (lambda s: save_rule(s, "expr: [\n", "eve", group="q"), "invalid YAML"),
        (lambda s: save_rule(s, "- alert: A\n", "eve", group="q"), "expected a mapping"),
        (lambda s: save_rule(s, FIRST, "eve", group=" "), "needs a group"),
        (lambda s: save_rule(s, FIRST, " ", group="q"), "say who you are"),
        (lambda s: save_rule(s, FIRST, "eve", group="q"), "exists already"),
        (
            lambda s: save_rule(
                s, FIRST.replace("QueueDeep", "Other"), "eve", group="q", editing="QueueDeep"
            ),
            "keep 'QueueDeep'",
        ),
        (lambda s: rollback_rule(s, "QueueDeep", 9, "eve"), r"has no version 9 \(it has 1 to 1\)"),
        (lambda s: rollback_rule(s, "Nope", 1, "eve"), "no rule 'Nope'"),
        (lambda s: set_enabled(s, False, "eve", names=["QueueDeep", "Nope"]), "no rule 'Nope'"),
        (lambda s: set_enabled(s, False, "eve", group="nope"), "no rule group 'nope'"),
        (lambda s: set_enabled(s, False, "eve"), "name the rules"),
        (lambda s: delete_rule(s, "Nope", "eve"), "no rule 'Nope'"),
        (lambda s: rule_history(s, "Nope"), "no rule 'Nope'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(store: Store, call, message: str) -> None:
    save_rule(store, FIRST, "alice", group="queues")
    before = _snapshot(store)
    with pytest.raises((VigilError, RuleValidationError), match=message):
        call(store)
    for was, now in zip(before, _snapshot(store), strict=True):
        pd.testing.assert_frame_equal(was, now)


def test_deleting_a_rule_keeps_its_history(store: Store) -> None:
    save_rule(store, FIRST, "alice", group="queues")
    delete_rule(store, "QueueDeep", "bob")
    assert list_rules(store) == [] and enabled_rules(store) == []
    assert [h["version"] for h in rule_history(store, "QueueDeep")] == [1]
    assert store.one("SELECT action FROM audit_log ORDER BY audit_id DESC LIMIT 1") == (
        "rule.delete")  # fmt: skip


def test_the_commands_list_show_history_roll_back_and_switch(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir)
    save_rule(store, FIRST, "alice", group="queues")
    save_rule(store, FIRST.replace("5m", "10m"), "bob", group="queues", editing="QueueDeep")
    store.close()
    rolled = run_vigil(data_dir, "rules", "rollback", "QueueDeep", "1", "--author", "carol")
    assert rolled.returncode == 0, rolled.stderr
    assert "QueueDeep is now version 3, the same as version 1" in rolled.stdout
    history = run_vigil(data_dir, "rules", "history", "QueueDeep", "--diff")
    assert history.stdout.splitlines()[0].startswith("version 3 ") and "carol" in history.stdout
    assert "+for: 5m" in history.stdout
    off = run_vigil(data_dir, "rules", "disable", "--group", "queues", "--author", "dave")
    assert off.returncode == 0 and "disabled: QueueDeep" in off.stdout
    missing = run_vigil(data_dir, "rules", "enable", "Nope")
    assert missing.returncode == 2 and "no rule 'Nope'" in missing.stderr
    port = free_port()
    with serving_engine(data_dir, port):  # read-only commands go through the engine
        listed = run_vigil(data_dir, "rules", "list", "--json", port=port)
        assert listed.returncode == 0, listed.stderr
        [rule] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert (rule["name"], rule["enabled"], rule["version"]) == ("QueueDeep", False, 3)
        held = run_vigil(data_dir, "rules", "enable", "QueueDeep", port=port)
        assert held.returncode == 2 and "edit rules in the app" in held.stderr
