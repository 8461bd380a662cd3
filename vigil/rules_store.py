"""Rules in the database: seeding the default pack, and reading the enabled rules.

Each rule is stored as the YAML mapping it was written as (JSON in ``rules.spec``) and
parsed by :func:`analytics.rules.load_rules`, so the stored form and the file format
never drift apart. Every change is a new row in ``rule_versions``.
"""

from __future__ import annotations

import json
from importlib import resources

import yaml

from analytics.rules import Rule, load_rules
from vigil.clock import utc_now
from vigil.store import Store


def default_rules_text() -> str:
    return resources.files("vigil.rules").joinpath("default.yaml").read_text(encoding="utf-8")


def _rule_file(specs: list[dict]) -> str:
    return yaml.safe_dump({"groups": [{"name": "vigil", "rules": specs}]}, allow_unicode=True)


def seed_default_rules(store: Store) -> int:
    """Install the default rule pack on a database that has no rules yet."""
    if store.one("SELECT count(*) FROM rules"):
        return 0
    text = default_rules_text()
    rules = load_rules(text)
    specs = [spec for group in yaml.safe_load(text)["groups"] for spec in group["rules"]]
    now = utc_now().to_pydatetime()
    with store.transaction() as cur:
        for rule, spec in zip(rules, specs, strict=True):
            body = json.dumps(spec, ensure_ascii=False)
            cur.execute(
                "INSERT INTO rules VALUES (?, ?, TRUE, ?, ?, 1, ?, 'system')",
                [rule.name, rule.kind, rule.severity, body, now],
            )
            cur.execute(
                "INSERT INTO rule_versions VALUES (?, 1, ?, 'system', ?, NULL)",
                [rule.name, body, now],
            )
    return len(rules)


def enabled_rules(store: Store) -> list[Rule]:
    rows = store.cursor.execute("SELECT spec FROM rules WHERE enabled ORDER BY rule_id").fetchall()
    if not rows:
        return []
    return load_rules(_rule_file([json.loads(spec) for (spec,) in rows]))
