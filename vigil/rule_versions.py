"""Editing rules one at a time: save, roll back, enable and disable, delete, and read
their history.

Every save (an edit, a rollback) is a new version with its author, time and a diff
against the version before, so the history is the whole story and any version can come
back. Enabling and disabling is not a new version of the rule — what it says has not
changed — and goes to the audit log instead, like every other change here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.rule_files import RuleEntry, load_rule_text
from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.rules_store import next_position, spec_yaml, write_version
from vigil.store import Store

LIST_FIELDS = ("name", "group", "kind", "enabled", "severity", "version", "updated_at",
               "updated_by", "last_eval_at", "last_error", "expr")  # fmt: skip


@dataclass(frozen=True)
class Saved:
    name: str
    version: int
    changed: bool  # False: the text said what the current version says


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat() + "Z"


def _current(store: Store, name: str) -> tuple[str, dict, int] | None:
    rows = store.cursor.execute(  # fetchall: a half-read result would block the cursor
        "SELECT rule_group, spec, current_version FROM rules WHERE rule_id = ?", [name]
    ).fetchall()
    return None if not rows else (rows[0][0], json.loads(rows[0][1]), int(rows[0][2]))


def list_rules(store: Store) -> list[dict[str, Any]]:
    """Every rule as a record, in file order: what ``vigil rules list`` prints."""
    rows = store.cursor.execute(
        "SELECT rule_id, rule_group, kind, enabled, severity, current_version, updated_at, "
        "updated_by, last_eval_at, last_error, spec FROM ("
        "  SELECT *, min(position) OVER (PARTITION BY rule_group) AS group_position FROM rules"
        ") ORDER BY group_position, rule_group, position, rule_id"
    ).fetchall()
    out = []
    for *fields, spec in rows:
        record_ = dict(zip(LIST_FIELDS, [*fields, json.loads(spec).get("expr")], strict=True))
        record_["updated_at"] = _iso(record_["updated_at"])
        record_["last_eval_at"] = _iso(record_["last_eval_at"])
        out.append(record_)
    return out


def rule_text(store: Store, name: str) -> tuple[str, str]:
    """(group, YAML) of a rule's current version, as the editor shows it."""
    current = _current(store, name)
    if current is None:
        raise VigilError(f"no rule {name!r}")
    return current[0], spec_yaml(current[1])


def rule_history(store: Store, name: str) -> list[dict[str, Any]]:
    """Every version of a rule, newest first, with its text and the diff that made it."""
    rows = store.cursor.execute(
        "SELECT version, author, created_at, diff, spec FROM rule_versions "
        "WHERE rule_id = ? ORDER BY version DESC",
        [name],
    ).fetchall()
    if not rows:
        raise VigilError(f"no rule {name!r}")
    return [
        {"version": v, "author": a, "created_at": _iso(t), "diff": d,
         "text": spec_yaml(json.loads(spec))}
        for v, a, t, d, spec in rows
    ]  # fmt: skip


def save_rule(
    store: Store, text: str, author: str, *, group: str, editing: str | None = None
) -> Saved:
    """Save one rule written as YAML (RuleValidationError, with the line in ``text``, if
    it is not valid; nothing saved). ``editing`` names the rule being edited: its name is
    its id, so an edit cannot rename it, and a new rule cannot take an existing name."""
    entry = load_rule_text(text, group)
    _who(author)
    before = _current(store, entry.name)
    if editing is not None and entry.name != editing:
        raise VigilError(f"the alert name is the rule's id: keep '{editing}', or save this "
                         "as a new rule and delete the old one")  # fmt: skip
    if editing is None and before is not None:
        raise VigilError(f"a rule named {entry.name!r} exists already; edit it instead")
    if before is not None and before[:2] == (entry.group, entry.spec):
        return Saved(entry.name, before[2], changed=False)
    with store.transaction() as cur:
        version = write_version(cur, entry, before, author, utc_now().to_pydatetime(),
                                next_position(store), "rule.save")  # fmt: skip
    return Saved(entry.name, version, changed=True)


def rollback_rule(store: Store, name: str, version: int, author: str) -> Saved:
    """Make an old version current again, as a new version (history only grows)."""
    _who(author)
    before = _current(store, name)
    if before is None:
        raise VigilError(f"no rule {name!r}")
    text = store.one(
        "SELECT spec FROM rule_versions WHERE rule_id = ? AND version = ?", [name, version]
    )
    if text is None:
        raise VigilError(f"rule {name!r} has no version {version} (it has 1 to {before[2]})")
    spec = json.loads(text)
    if spec == before[1]:
        return Saved(name, before[2], changed=False)
    entry = RuleEntry(before[0], spec)
    entry.rule()  # a version saved before the format changed must still load
    with store.transaction() as cur:
        new = write_version(cur, entry, before, author, utc_now().to_pydatetime(), 0,
                            "rule.rollback")  # fmt: skip
    return Saved(name, new, changed=True)


def set_enabled(
    store: Store, enabled: bool, author: str, *, names: list[str] = (), group: str | None = None,
) -> list[str]:  # fmt: skip
    """Enable or disable rules by name and/or every rule of a group; returns the rules
    whose state changed. An unknown name or group is an error and changes nothing."""
    _who(author)
    known = dict(store.cursor.execute("SELECT rule_id, rule_group FROM rules").fetchall())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise VigilError(f"no rule {', '.join(map(repr, unknown))}")
    if group is not None and group not in set(known.values()):
        raise VigilError(f"no rule group {group!r}")
    if not names and group is None:
        raise VigilError("name the rules, or a group, to enable or disable")
    wanted = set(names) | {n for n, g in known.items() if g == group}
    state = dict(store.cursor.execute("SELECT rule_id, enabled FROM rules").fetchall())
    changed = sorted(n for n in wanted if bool(state[n]) != enabled)
    with store.transaction() as cur:
        for name in changed:
            cur.execute("UPDATE rules SET enabled = ? WHERE rule_id = ?", [enabled, name])
            action = "rule.enable" if enabled else "rule.disable"
            record(cur, author, action, name, {"enabled": not enabled}, {"enabled": enabled})
    return changed


def delete_rule(store: Store, name: str, author: str) -> None:
    """Remove a rule; its versions stay as history, its alerts as they are."""
    _who(author)
    before = _current(store, name)
    if before is None:
        raise VigilError(f"no rule {name!r}")
    with store.transaction() as cur:
        cur.execute("DELETE FROM rules WHERE rule_id = ?", [name])
        record(cur, author, "rule.delete", name, before[1], None)


def rule_query(store: Store, what: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """What the engine's HTTP port answers for ``/api/v1/rules/list`` and ``/history``."""
    if what == "list":
        return {"rules": list_rules(store)}
    if what == "history":
        name = (query.get("rule") or [""])[0]
        return {"versions": rule_history(store, name)}
    raise VigilError(f"no such rule query: {what}")


def _who(author: str) -> None:
    if not author or not author.strip():
        raise VigilError("say who you are: every change records its author")
