"""Rules in the database: seeding the default pack, reading the enabled rules, importing
and exporting rule files.

Each rule is stored as the YAML mapping it was written as (JSON in ``rules.spec``), with
its group and its place in the file, and parsed by :func:`analytics.rules.load_rules`, so
the stored form and the file format never drift apart. Every change is a new row in
``rule_versions`` with its author and a diff against the version before.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from analytics.rule_files import RuleEntry, Skipped, export_rule_file, import_rule_file
from analytics.rules import Rule, RuleValidationError, load_rules
from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.store import Store


def default_rules_text() -> str:
    return resources.files("vigil.rules").joinpath("default.yaml").read_text(encoding="utf-8")


def packs() -> list[str]:
    """The rule packs Vigil ships (``vigil/rules/packs/<name>.yaml``)."""
    folder = resources.files("vigil.rules").joinpath("packs")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))  # fmt: skip


def pack_text(name: str) -> str:
    if name not in packs():
        raise VigilError(f"no rule pack {name!r} (there are: {', '.join(packs())})")
    folder = resources.files("vigil.rules").joinpath("packs")
    return folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def install_pack(store: Store, name: str, author: str) -> ImportSummary:
    """Import a shipped pack like any rule file: installing it again changes nothing,
    and a pack rule someone edited becomes a new version, not a silent overwrite."""
    return import_rules(store, pack_text(name), author)


def seed_default_rules(store: Store) -> int:
    """Install the default rule pack on a database that has no rules yet."""
    if store.one("SELECT count(*) FROM rules"):
        return 0
    text = default_rules_text()
    rules = load_rules(text)
    specs = [spec for group in yaml.safe_load(text)["groups"] for spec in group["rules"]]
    now = utc_now().to_pydatetime()
    with store.transaction() as cur:
        for position, (rule, spec) in enumerate(zip(rules, specs, strict=True)):
            body = json.dumps(spec, ensure_ascii=False)
            cur.execute(
                "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, "
                "updated_at, updated_by, rule_group, position) "
                "VALUES (?, ?, TRUE, ?, ?, 1, ?, 'system', ?, ?)",
                [rule.name, rule.kind, rule.severity, body, now, rule.group, position],
            )
            cur.execute(
                "INSERT INTO rule_versions VALUES (?, 1, ?, 'system', ?, NULL)",
                [rule.name, body, now],
            )
    return len(rules)


def enabled_rules(store: Store) -> list[Rule]:
    """The rules evaluation runs, in name order (see :func:`load_enabled`)."""
    return load_enabled(store)[0]


def load_enabled(store: Store) -> tuple[list[Rule], dict[str, str]]:
    """The enabled rules that parse, in name order, and why each of the others does not
    (a rule saved by an older version, or edited in the database by hand): one bad rule
    must not stop the others."""
    rows = store.cursor.execute(
        "SELECT rule_id, rule_group, spec FROM rules WHERE enabled ORDER BY rule_id"
    ).fetchall()
    rules, broken = [], {}
    for rule_id, group, spec in rows:
        parsed = _parsed(group or "vigil", spec)
        if isinstance(parsed, Rule):
            rules.append(parsed)
        else:
            broken[rule_id] = parsed
    return rules, broken


@lru_cache(maxsize=4096)
def _parsed(group: str, spec: str) -> Rule | str:
    """A rule parsed from its stored text (or why it does not parse), kept while the text
    is unchanged: parsing hundreds of rules every evaluation would cost more than
    evaluating them. Rules are frozen, so sharing them is safe."""
    try:
        return RuleEntry(group, json.loads(spec)).rule()
    except (RuleValidationError, ValueError, TypeError) as err:
        return f"the stored rule does not load: {err}"


def record_health(store: Store, errors: dict[str, str | None], at: pd.Timestamp) -> None:
    """After an evaluation: when each rule was evaluated and its error (None: it worked)."""
    if not errors:
        return
    frame = pd.DataFrame({"rule_id": list(errors), "error": list(errors.values())})
    with store.transaction() as cur:
        cur.register("rule_health", frame)
        cur.execute(
            "UPDATE rules SET last_eval_at = ?, last_error = h.error FROM rule_health h "
            "WHERE rules.rule_id = h.rule_id",
            [at.to_pydatetime()],
        )
        cur.unregister("rule_health")


def rule_entries(store: Store) -> list[RuleEntry]:
    """Every stored rule, enabled or not, in file order (groups by their first rule)."""
    rows = store.cursor.execute(
        "SELECT rule_group, spec FROM ("
        "  SELECT *, min(position) OVER (PARTITION BY rule_group) AS group_position FROM rules"
        ") ORDER BY group_position, rule_group, position, rule_id"
    ).fetchall()
    return [RuleEntry(group, json.loads(spec)) for group, spec in rows]


def export_rules(store: Store) -> str:
    """All rules as a Prometheus rule file (see :mod:`analytics.rule_files`)."""
    return export_rule_file(rule_entries(store))


@dataclass(frozen=True)
class ImportSummary:
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    skipped: list[Skipped]


def spec_yaml(spec: dict) -> str:
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=100)


def import_rules(store: Store, text: str, author: str) -> ImportSummary:
    """Save the rules of a rule file: new ones at version 1, changed ones as a new version
    with a diff, identical ones untouched; what Vigil cannot evaluate is reported in
    ``skipped``. RuleValidationError (and nothing saved) if the file is not a rule file."""
    parsed = import_rule_file(text)
    current = {
        rule_id: (group, json.loads(spec), int(version))
        for rule_id, group, spec, version in store.cursor.execute(
            "SELECT rule_id, rule_group, spec, current_version FROM rules"
        ).fetchall()
    }
    start = next_position(store)
    now = utc_now().to_pydatetime()
    added, updated, unchanged = [], [], []
    with store.transaction() as cur:
        for offset, entry in enumerate(parsed.entries):
            before = current.get(entry.name)
            if before is not None and before[:2] == (entry.group, entry.spec):
                unchanged.append(entry.name)
                continue
            write_version(cur, entry, before, author, now, start + offset, "rule.import")
            (added if before is None else updated).append(entry.name)
    return ImportSummary(added, updated, unchanged, parsed.skipped)


def next_position(store: Store) -> int:
    """Where a new rule goes in file order: after every rule there is."""
    return int(store.one("SELECT coalesce(max(position) + 1, 0) FROM rules") or 0)


def write_version(
    cur: Any, entry: RuleEntry, before: tuple[str, dict, int] | None, author: str,
    now: datetime, position: int, action: str,
) -> int:  # fmt: skip
    """Store ``entry`` as its rule's next version (version 1 for a new rule), with a diff
    against ``before`` (group, spec, version) and an audit entry; returns the version."""
    rule = entry.rule()
    body = json.dumps(entry.spec, ensure_ascii=False)
    version = 1 if before is None else before[2] + 1
    diff = None if before is None else _diff(before[1], entry.spec, version)
    cur.execute(
        "INSERT OR REPLACE INTO rules (rule_id, kind, enabled, severity, spec, "
        "current_version, updated_at, updated_by, rule_group, position) "
        "VALUES (?, ?, coalesce((SELECT enabled FROM rules WHERE rule_id = ?), TRUE), "
        "?, ?, ?, ?, ?, ?, coalesce((SELECT position FROM rules WHERE rule_id = ?), ?))",
        [entry.name, rule.kind, entry.name, rule.severity, body, version, now, author,
         entry.group, entry.name, position],
    )  # fmt: skip
    cur.execute(
        "INSERT INTO rule_versions VALUES (?, ?, ?, ?, ?, ?)",
        [entry.name, version, body, author, now, diff],
    )
    record(cur, author, action, entry.name, None if before is None else before[1], entry.spec)
    return version


def _diff(before: dict, after: dict, version: int) -> str:
    return "".join(
        difflib.unified_diff(
            spec_yaml(before).splitlines(keepends=True), spec_yaml(after).splitlines(keepends=True),
            f"version {version - 1}", f"version {version}",
        )
    )  # fmt: skip
