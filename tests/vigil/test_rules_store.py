from __future__ import annotations

import dataclasses

from analytics.rules import load_rules
from vigil.rules_store import default_rules_text, enabled_rules, seed_default_rules
from vigil.store import Store


def test_default_pack_parses() -> None:
    rules = load_rules(default_rules_text())
    assert rules
    assert {r.kind for r in rules} >= {"score", "band", "threshold", "absent"}


def test_seeded_rules_round_trip_through_the_database(store: Store) -> None:
    expected = load_rules(default_rules_text())
    assert seed_default_rules(store) == len(expected)
    loaded = enabled_rules(store)
    by_name = {rule.name: rule for rule in loaded}
    assert sorted(by_name) == sorted(rule.name for rule in expected)
    for rule in expected:
        # The store keeps rules, not groups: only the group name may differ.
        assert by_name[rule.name] == dataclasses.replace(rule, group=by_name[rule.name].group)


def test_seeding_twice_installs_nothing_more(store: Store) -> None:
    first = seed_default_rules(store)
    assert seed_default_rules(store) == 0
    assert store.one("SELECT count(*) FROM rules") == first
    assert store.one("SELECT count(*) FROM rule_versions") == first


def test_disabled_rules_are_not_evaluated(store: Store) -> None:
    seed_default_rules(store)
    name = enabled_rules(store)[0].name
    store.execute("UPDATE rules SET enabled = FALSE WHERE rule_id = ?", [name])
    assert name not in {rule.name for rule in enabled_rules(store)}


def test_no_rules_in_an_empty_database(store: Store) -> None:
    assert enabled_rules(store) == []
