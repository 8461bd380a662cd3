"""The rule editor's form: the fields people change most, read from and written back to
the rule's YAML, and validation errors placed at the field they are about.

The YAML stays the rule's one true text: the form edits a copy of its mapping and keeps
every key it does not show (other labels and annotations, the keys of Vigil's own rule
kinds), so switching between form and YAML never loses anything.
"""

from __future__ import annotations

from typing import Any

import yaml

from analytics.rule_files import load_rule_text
from analytics.rules import RuleValidationError

SEVERITIES = ("critical", "warning", "info")
# form field -> where it lives in the rule's mapping
FIELDS: dict[str, tuple[str, ...]] = {
    "alert": ("alert",),
    "expr": ("expr",),
    "for": ("for",),
    "severity": ("labels", "severity"),
    "summary": ("annotations", "summary"),
    "description": ("annotations", "description"),
    "runbook_url": ("annotations", "runbook_url"),
}
GENERAL = "_rule"  # an error no form field owns


def _mapping(text: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def form_values(text: str) -> dict[str, str]:
    """The form's fields from a rule's YAML (empty strings where it says nothing)."""
    spec = _mapping(text)
    values = {}
    for field, path in FIELDS.items():
        node: Any = spec
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values[field] = "" if node is None else str(node)
    return values


def form_yaml(text: str, values: dict[str, str]) -> str:
    """``text`` with the form's fields written into it; an emptied optional field is
    removed, the rest of the rule is kept as it was."""
    spec = _mapping(text)
    for field, path in FIELDS.items():
        value = values.get(field, "").strip()
        parent = spec
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        if value:
            parent[path[-1]] = value
        else:
            parent.pop(path[-1], None)
    for section in ("labels", "annotations"):
        if spec.get(section) == {}:
            del spec[section]
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def field_errors(text: str, group: str) -> dict[str, str]:
    """Why the rule is not valid, keyed by the form field the problem is in (``GENERAL``
    when none is); empty when it is valid."""
    try:
        load_rule_text(text, group)
    except RuleValidationError as err:
        path = tuple((err.field or "").split("."))
        owner = next((f for f, where in FIELDS.items() if where == path), None)
        # a field's own message goes under it; anything else says where it is
        return {owner: err.reason} if owner else {GENERAL: str(err)}
    except ValueError as err:
        return {GENERAL: str(err)}
    return {}
