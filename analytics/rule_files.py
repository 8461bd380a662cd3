"""Prometheus rule files in and out: importing what Vigil can evaluate, exporting all of it.

Vigil's rule format is a superset of Prometheus': static threshold and absent rules are
plain PromQL alerting rules and travel both ways unchanged. Score and band rules need
Vigil's detector; they export against the series the engine serves on ``/metrics``
(``vigil_anomaly_score``, ``vigil_baseline_lower``/``upper`` and ``vigil_series_value``,
each carrying the original series' labels and its metric name as ``metric``), so a
Prometheus that scrapes Vigil evaluates the same condition. Prometheus rejects unknown
rule keys, so exports drop the ``vigil:`` block: the expression says everything.

Import is per rule: a rule Vigil cannot express (a recording rule, an aggregation, a range
function) is reported with its line and reason and left out; the rest is imported. A file
that is not a rule file at all (bad YAML, no ``groups``) is refused as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from analytics.rules import MODEL_BAND_K, Rule, RuleValidationError, load_rules

SCORE_METRIC = "vigil_anomaly_score"
LOWER_METRIC = "vigil_baseline_lower"
UPPER_METRIC = "vigil_baseline_upper"
VALUE_METRIC = "vigil_series_value"
SOURCE_METRIC_LABEL = "metric"
MAX_RULE_FILE_CHARS = 5 * 2**20  # whatever its source (CLI, page, HTTP), as the CLI's file limit


@dataclass(frozen=True)
class RuleEntry:
    """A rule as stored: its group and the mapping it was written as."""

    group: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.spec["alert"])

    def rule(self) -> Rule:
        """The rule parsed and validated (RuleValidationError says why not)."""
        return _check_one(self.group, self.spec)


@dataclass(frozen=True)
class Skipped:
    name: str
    line: int | None
    reason: str


@dataclass(frozen=True)
class RuleImport:
    entries: list[RuleEntry]
    skipped: list[Skipped]


def import_rule_file(text: str) -> RuleImport:
    """The rules of a Prometheus (or Vigil) rule file that Vigil can evaluate, and the ones
    it cannot with why. :class:`RuleValidationError` if the file is not a rule file or two
    rules share a name (names are rule ids here)."""
    if len(text) > MAX_RULE_FILE_CHARS:
        raise RuleValidationError(
            f"the rule file is larger than {MAX_RULE_FILE_CHARS // 2**20} MiB", field="groups"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        load_rules(text)  # raises with the line of the YAML error
        raise
    except RecursionError:
        raise RuleValidationError("invalid YAML: nested too deeply for a rule file") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        load_rules(text)  # raises naming what is missing
        raise RuleValidationError("expected 'groups:' with a list of groups", field="groups")
    lines = _rule_lines(text)
    entries, skipped, seen = [], [], set()
    for g, group in enumerate(data["groups"]):
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            raise RuleValidationError("expected a group with 'name' and 'rules'", field="groups")
        name = str(group.get("name", f"group-{g + 1}"))
        for r, spec in enumerate(group["rules"]):
            line = lines.get((g, r))
            label = _label(spec)
            try:
                _check_one(name, spec)
            except RuleValidationError as err:
                skipped.append(Skipped(label, line, err.reason))
                continue
            if label in seen:
                raise RuleValidationError(f"duplicate alert name {label!r}", line=line,
                                          field="alert")  # fmt: skip
            seen.add(label)
            entries.append(RuleEntry(name, spec))
    return RuleImport(entries, skipped)


def load_rule_text(text: str, group: str) -> RuleEntry:
    """One rule written on its own, as the rule editor shows it (a YAML mapping with
    ``alert``, ``expr``...): its entry, or :class:`RuleValidationError` with the line
    counted in ``text``."""
    if not group.strip():
        raise RuleValidationError("a rule needs a group", field="group")
    lines = text.splitlines() or [""]
    body = "\n".join(["  - " + lines[0], *("    " + line for line in lines[1:])])
    wrapped = f"groups:\n- name: {json.dumps(group)}\n  rules:\n{body}\n"
    try:
        load_rules(wrapped)
        spec = yaml.safe_load(text)
    except RuleValidationError as err:
        line = err.line - _HEADER_LINES if err.line and err.line > _HEADER_LINES else None
        raise RuleValidationError(err.reason, line=line, field=err.field) from None
    except yaml.YAMLError as err:
        raise RuleValidationError(f"invalid YAML: {err}") from None
    if not isinstance(spec, dict):
        raise RuleValidationError("expected one rule: a mapping with alert and expr", line=1)
    return RuleEntry(group, spec)


_HEADER_LINES = 3  # the lines load_rule_text puts before the rule


def _label(spec: object) -> str:
    if isinstance(spec, dict):
        return str(spec.get("alert") or spec.get("record") or "(unnamed)")
    return "(not a mapping)"


def _check_one(group: str, spec: object) -> Rule:
    """Load one rule on its own; its error's reason is what the import report shows."""
    text = yaml.safe_dump({"groups": [{"name": group, "rules": [spec]}]}, allow_unicode=True)
    return load_rules(text)[0]


def _rule_lines(text: str) -> dict[tuple[int, int], int]:
    """(group index, rule index) → the rule's first line in the file."""
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out: dict[tuple[int, int], int] = {}
    groups = next((v for k, v in root.value if k.value == "groups"), None)
    for g, group in enumerate(getattr(groups, "value", [])):
        if not isinstance(group, yaml.MappingNode):
            continue
        rules = next((v for k, v in group.value if k.value == "rules"), None)
        for r, rule in enumerate(getattr(rules, "value", [])):
            out[(g, r)] = rule.start_mark.line + 1
    return out


def export_rule_file(entries: list[RuleEntry]) -> str:
    """A Prometheus rule file with every rule, grouped as stored, in stored order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(prometheus_rule(entry))
    body = {"groups": [{"name": name, "rules": rules} for name, rules in groups.items()]}
    return yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)


def prometheus_rule(entry: RuleEntry) -> dict[str, Any]:
    """One rule as Prometheus reads it (no ``vigil:`` block)."""
    rule = entry.rule()
    out: dict[str, Any] = {"alert": rule.name, "expr": prometheus_expr(rule)}
    for key in ("for", "keep_firing_for"):
        if key in entry.spec:
            out[key] = entry.spec[key]
    for key in ("labels", "annotations"):
        if entry.spec.get(key):
            out[key] = {str(k): str(v) for k, v in entry.spec[key].items()}
    return out


def prometheus_expr(rule: Rule) -> str:
    """The rule's condition in PromQL; Vigil-only kinds over the engine's exported series."""
    if rule.promql or rule.kind == "forecast":
        return rule.query  # PromQL already, or what the vigil: block makes of it
    if rule.kind == "absent":  # per series, metric name included, as Vigil evaluates it
        named = f'label_replace({{}}, "{SOURCE_METRIC_LABEL}", "$1", "__name__", "(.+)")'
        recent = named.format(f"last_over_time({rule.selector}[{rule.within_seconds}s])")
        return f"{recent} * 0 + 1 unless {named.format(rule.selector)}"
    if rule.kind == "score":
        return f"{_selector(rule, SCORE_METRIC)} >= {rule.min_score!r}"
    upper, lower = _selector(rule, UPPER_METRIC), _selector(rule, LOWER_METRIC)
    value = _selector(rule, VALUE_METRIC)
    centre = f"({upper} + {lower}) / 2"
    half = f"({upper} - {lower}) / 2 * {rule.band_k / MODEL_BAND_K!r}"
    if rule.direction == "up":
        return f"{value} > {centre} + {half}"
    if rule.direction == "down":
        return f"{value} < {centre} - {half}"
    return f"abs({value} - {centre}) > {half}"


def _selector(rule: Rule, exported: str | None) -> str:
    """``metric{matchers}``; over an exported series the metric name becomes a label."""
    matchers = list(rule.matchers)
    if exported is None:
        name = rule.metric or ""
    else:
        name = exported
        matchers = [(SOURCE_METRIC_LABEL if n == "__name__" else n, op, v) for n, op, v in matchers]
        if rule.metric:
            matchers.insert(0, (SOURCE_METRIC_LABEL, "=", rule.metric))
    inside = ", ".join(f"{n}{op}{json.dumps(v, ensure_ascii=False)}" for n, op, v in matchers)
    return f"{name}{{{inside}}}" if inside or not name else name
