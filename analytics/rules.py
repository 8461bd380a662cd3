"""Alert rules: the file format, and the entry points for selection and templates.

The format is a superset of Prometheus rule files, so an SRE can paste an existing alert
in, and a Vigil rule can be exported back. A plain ``expr`` is PromQL, evaluated with
Prometheus' semantics (:mod:`analytics.promql`): kind ``threshold``, or ``absent`` for an
``absent(...)`` expression. Vigil's own kinds are a selector ``expr`` plus a ``vigil:``
mapping, and work per series:

- ``score``: the detector's anomaly score is at least ``min_score``;
- ``band``: the value is outside the seasonal baseline band widened to ``k`` (``direction``
  up, down or both);
- ``forecast``: a linear trend fitted over ``window`` crosses ``threshold`` (``op``) within
  ``horizon`` — ``predict_linear`` — and the alert says when;
- ``absent``: a series that reported within ``within`` has no current sample.

Only what Vigil evaluates is accepted: anything else is rejected with the line and field
to fix, because a rule that silently means something else than it says is worse than no
rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analytics.promql import PromQLError, compile_query
from analytics.selectors import COMPARISONS, LABEL_NAME, ParsedExpr, parse_expr, select
from analytics.templates import render_templates

MODEL_BAND_K = 3.0  # half-width of the band the detectors emit, in robust scale units
KINDS = ("threshold", "score", "band", "forecast", "absent")
PER_SERIES_KINDS = ("score", "band", "forecast", "absent")
DIRECTIONS = ("up", "down", "both")
_DURATION_HINT = "(use 30s, 5m, 1h)"
_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)


class RuleValidationError(ValueError):
    """A rule file that cannot be loaded, with where to look."""

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None):
        self.line = line
        self.field = field
        self.reason = message
        where = [f"line {line}"] if line is not None else []
        where += [f"field '{field}'"] if field is not None else []
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class FrozenMap(Mapping[str, str]):
    """A read-only, hashable mapping, so a :class:`Rule` can be frozen and compared."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


@dataclass(frozen=True)
class Rule:
    """One alerting rule, parsed and validated."""

    name: str
    group: str
    kind: str
    expr: str
    metric: str | None = None
    matchers: tuple[tuple[str, str, str], ...] = ()
    op: str = ">"
    threshold: float = 0.0  # only meaningful for kind threshold
    min_score: float = 0.9
    band_k: float = 3.0
    model_band_k: float = MODEL_BAND_K
    direction: str = "both"
    horizon_seconds: int = 4 * 3600  # forecast: how far ahead a crossing alerts
    window_seconds: int = 6 * 3600  # forecast: history the trend is fitted on
    within_seconds: int = 3600  # absent: how recently a series must have reported
    promql: bool = True  # evaluated as the PromQL in ``query`` (else per series by Vigil)
    for_seconds: int = 0
    keep_firing_for_seconds: int = 0
    labels: FrozenMap = field(default_factory=FrozenMap)
    annotations: FrozenMap = field(default_factory=FrozenMap)

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")

    @property
    def selector(self) -> str:
        """The rule's series selector in PromQL (per-series kinds), e.g. ``up{job="x"}``."""
        inside = ", ".join(f"{n}{op}{json.dumps(v, ensure_ascii=False)}"
                           for n, op, v in self.matchers)  # fmt: skip
        name = self.metric or ""
        return f"{name}{{{inside}}}" if inside or not name else name

    @property
    def query(self) -> str:
        """The PromQL whose elements are this rule's alert conditions: the expression
        itself, or what the ``vigil:`` options make of it. Score and band rules have none
        (they read the detector's output)."""
        if self.kind == "threshold" and not parse_expr_op(self.expr):  # vigil: op, threshold
            return f"{self.expr} {self.op} {_promql_number(self.threshold)}"
        if self.kind == "forecast":
            fit = f"predict_linear({self.selector}[{self.window_seconds}s], {self.horizon_seconds})"
            return f"{fit} {self.op} {_promql_number(self.threshold)}"
        return self.expr


def _promql_number(value: float) -> str:
    """A float as PromQL reads it back exactly."""
    if np.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return "NaN" if np.isnan(value) else repr(float(value))


def parse_expr_op(expr: str) -> bool:
    """Whether ``expr`` is more than a bare selector (a comparison, a function...)."""
    try:
        return parse_expr(expr).op is not None or parse_expr(expr).absent
    except ValueError:
        return True


# --- durations -------------------------------------------------------------------------


def parse_duration(value: object) -> int:
    """Seconds in a Prometheus duration (``1h30m``) or a plain integer of seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = value.strip() if isinstance(value, str) else None
    if text and text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text) if text else None
    if match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {value!r} {_DURATION_HINT}")
    return sum(int(n) * s for n, s in zip(match.groups(), _UNIT_SECONDS, strict=True) if n)


# --- YAML with line numbers ------------------------------------------------------------

# libyaml's loader where PyYAML was built with it: the same nodes and marks, much faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_GROUP_KEYS = {"name", "rules", "interval"}
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations",
              "vigil"}  # fmt: skip
_VIGIL_KEYS = {"kind": (), "op": ("threshold", "forecast"),
               "threshold": ("threshold", "forecast"), "min_score": ("score",), "k": ("band",),
               "direction": ("band",), "horizon": ("forecast",), "window": ("forecast",),
               "within": ("absent",)}  # fmt: skip
_VIGIL_DURATIONS = ("horizon", "window", "within")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, where: str, allowed: set[str] | None) -> dict[str, yaml.Node]:
    """Key → value node, refusing non-mappings, non-string, duplicate and unknown keys."""
    if not isinstance(node, yaml.MappingNode):
        raise RuleValidationError("expected a mapping", line=_line(node), field=where or None)
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        path = f"{where}.{name}" if where else str(name)
        if not isinstance(name, str) or name in out:
            problem = "duplicate key" if name in out else "keys must be strings"
            raise RuleValidationError(problem, line=_line(key), field=path)
        if allowed is not None and name not in allowed:
            known = ", ".join(sorted(allowed))
            raise RuleValidationError(f"unknown key (known: {known})", line=_line(key), field=path)
        out[name] = value
    return out


def _scalar(node: yaml.Node, where: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise RuleValidationError("expected a single value", line=_line(node), field=where)
    return yaml.SafeLoader("").construct_object(node)


def _text(node: yaml.Node, where: str) -> str:
    value = _scalar(node, where)
    if not isinstance(value, str) or not value.strip():
        raise RuleValidationError("expected non-empty text", line=_line(node), field=where)
    return value


def _number(node: yaml.Node, where: str) -> float:
    value = _scalar(node, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleValidationError(
            f"expected a number, got {value!r}", line=_line(node), field=where
        )
    if not np.isfinite(float(value)):
        raise RuleValidationError(
            f"expected a finite number, got {value!r}", line=_line(node), field=where
        )
    return float(value)


def _duration(node: yaml.Node, where: str) -> int:
    value = _scalar(node, where)
    try:
        return parse_duration(value)
    except ValueError:
        raise RuleValidationError(
            f"invalid duration '{value}' {_DURATION_HINT}", line=_line(node), field=where
        ) from None


def _optional_duration(spec: dict[str, yaml.Node], key: str) -> int:
    return _duration(spec[key], key) if key in spec else 0


def _string_map(node: yaml.Node, where: str, label_names: bool) -> FrozenMap:
    items = {}
    for key, value in _mapping(node, where, None).items():
        path = f"{where}.{key}"
        if label_names and not LABEL_NAME.fullmatch(key):
            raise RuleValidationError("invalid label name", line=_line(value), field=path)
        scalar = _scalar(value, path)
        if isinstance(scalar, bool):  # YAML reads `true`; Prometheus would keep the text
            scalar = str(scalar).lower()
        items[key] = "" if scalar is None else str(scalar)
    return FrozenMap(items)


def _options(spec: dict[str, yaml.Node]) -> dict[str, Any]:
    """The ``vigil:`` mapping, each option checked against the kind it belongs to."""
    if "vigil" not in spec:
        return {}
    nodes = _mapping(spec["vigil"], "vigil", set(_VIGIL_KEYS))
    kind = _text(nodes["kind"], "vigil.kind") if "kind" in nodes else None
    if kind is not None and kind not in KINDS:
        raise RuleValidationError(
            f"unknown kind {kind!r} (use {', '.join(KINDS)})",
            line=_line(nodes["kind"]), field="vigil.kind",
        )  # fmt: skip
    out: dict[str, Any] = {"kind": kind, "_line": _line(spec["vigil"])}
    for key, node in nodes.items():
        path = f"vigil.{key}"
        if key in ("op", "direction"):
            out[key] = _text(node, path)
            allowed = COMPARISONS if key == "op" else DIRECTIONS
            if out[key] not in allowed:
                message = f"must be one of {', '.join(allowed)}"
                raise RuleValidationError(message, line=_line(node), field=path)
        elif key in _VIGIL_DURATIONS:
            out[key] = _duration(node, path)
            if out[key] <= 0:
                raise RuleValidationError("must be longer than 0s", line=_line(node), field=path)
        elif key != "kind":
            out[key] = _number(node, path)
        out[f"_line_{key}"] = _line(node)
    return out


_NON_FINITE_COMPARISON = re.compile(r"(?i)(?:[<>]=?|[=!]=)\s*(?:bool\s+)?[+-]?(?:nan|inf)\b")


def _kind_fields(expr: str, opts: dict[str, Any], expr_line: int) -> dict[str, Any]:
    """Reconcile what the expression says with the ``vigil:`` options."""

    def fail(message: str, key: str = "expr") -> RuleValidationError:
        option = key.removeprefix("vigil.")
        line = expr_line if key == "expr" else opts.get(f"_line_{option}", opts.get("_line"))
        return RuleValidationError(message, line=line, field=key)

    if _NON_FINITE_COMPARISON.search(expr):  # valid PromQL, but it can never fire as meant
        raise fail("a comparison with NaN or Inf is not a threshold; use a finite number")
    try:
        compile_query(expr)
    except PromQLError as err:
        raise fail(_clearer(expr, str(err))) from None
    try:
        parsed: ParsedExpr | None = parse_expr(expr)
    except ValueError:
        parsed = None  # more than a selector: PromQL only
    bare = parsed is not None and parsed.op is None and not parsed.absent
    kind = opts.get("kind") or ("absent" if parsed and parsed.absent else None)
    if kind is None and bare and "threshold" not in opts:
        raise fail(
            "a bare selector needs a comparison (e.g. '> 0.9') or vigil.kind; write "
            "'(selector)' to alert on every series, as Prometheus would"
        )
    kind = kind or "threshold"
    for option, owners in _VIGIL_KEYS.items():
        if option in opts and owners and kind not in owners:
            raise fail(f"only applies to kind {' or '.join(owners)}", f"vigil.{option}")
    if parsed is not None and parsed.absent and kind != "absent":
        raise fail(f"absent(...) cannot be used with kind {kind}")
    per_series = kind in PER_SERIES_KINDS and bare
    if kind in PER_SERIES_KINDS and not per_series and not (parsed and parsed.absent):
        raise fail(f"kind {kind} takes a series selector without a comparison or function")
    out: dict[str, Any] = {"kind": kind, "promql": not per_series}
    if parsed is not None:
        out.update(metric=parsed.metric, matchers=parsed.matchers)
    if kind == "threshold":
        out.update(_threshold_fields(parsed, bare, opts, fail))
    if kind == "forecast":
        if "threshold" not in opts:
            raise fail("a forecast rule needs vigil.threshold", "vigil")
        out.update(op=opts.get("op", ">"), threshold=opts["threshold"])
        out.update({f"{k}_seconds": opts[k] for k in ("horizon", "window") if k in opts})
    if kind == "absent" and "within" in opts:
        out["within_seconds"] = opts["within"]
    if kind == "score":
        out["min_score"] = opts.get("min_score", 0.9)
        if not 0.0 <= out["min_score"] <= 1.0:
            raise fail("must be between 0 and 1", "vigil.min_score")
    if kind == "band":
        out["band_k"] = opts.get("k", 3.0)
        out["direction"] = opts.get("direction", "both")
        if out["band_k"] <= 0:
            raise fail("must be positive", "vigil.k")
    return out


def _clearer(expr: str, message: str) -> str:
    """The parser's message, or, where it only says the query is invalid, what Vigil's
    own selector parser says is wrong with it."""
    if not message.endswith("invalid promql query"):
        return message
    try:
        parse_expr(expr)
    except ValueError as err:
        if "is beyond a series selector" not in str(err):
            return f"invalid PromQL: {err}"
    return message


def _threshold_fields(
    parsed: ParsedExpr | None, bare: bool, opts: dict[str, Any], fail: Any
) -> dict[str, Any]:
    """A threshold in the expression (``sel > 0.9``, or any PromQL) or in ``vigil:``."""
    if not bare and ("op" in opts or "threshold" in opts):
        raise fail("give the comparison in expr or in vigil, not both", "vigil.op")
    if bare:
        if "threshold" not in opts:
            raise fail("a threshold rule needs 'expr: selector > number' or vigil.threshold")
        return {"op": opts.get("op", ">"), "threshold": opts["threshold"]}
    if parsed is not None and parsed.op is not None:
        if not np.isfinite(parsed.threshold):  # `> NaN` never fires, `> Inf` hardly better
            raise fail(f"the threshold {parsed.threshold} is not a finite number")
        return {"op": parsed.op, "threshold": parsed.threshold}
    return {}


def _rule(node: yaml.Node, group: str) -> Rule:
    spec = _mapping(node, "", _RULE_KEYS)
    if "record" in spec:
        raise RuleValidationError(
            "recording rules are not supported yet; only alerting rules ('alert:')",
            line=_line(spec["record"]), field="record",
        )  # fmt: skip
    for required in ("alert", "expr"):
        if required not in spec:
            raise RuleValidationError("missing", line=_line(node), field=required)
    name = _text(spec["alert"], "alert")
    expr = _text(spec["expr"], "expr")
    fields = _kind_fields(expr, _options(spec), _line(spec["expr"]))
    maps = {
        key: _string_map(spec[key], key, key == "labels") if key in spec else FrozenMap()
        for key in ("labels", "annotations")
    }
    return Rule(
        name=name, group=group, expr=expr,
        for_seconds=_optional_duration(spec, "for"),
        keep_firing_for_seconds=_optional_duration(spec, "keep_firing_for"),
        **maps, **fields,
    )  # fmt: skip


def _root(text: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RuleValidationError(f"invalid YAML: {err.problem}", line=line) from None
    except yaml.YAMLError as err:
        raise RuleValidationError(f"invalid YAML: {err}") from None
    except RecursionError:  # a hostile file nested thousands deep: no rule file is
        raise RuleValidationError("invalid YAML: nested too deeply for a rule file") from None
    if root is None:
        raise RuleValidationError("the rule file is empty", line=1, field="groups")
    return root


def load_rules(text: str) -> list[Rule]:
    """Every alerting rule in a rule file, or :class:`RuleValidationError` on the first problem."""
    root = _root(text)
    top = _mapping(root, "", {"groups"})
    if "groups" not in top:
        raise RuleValidationError("missing", line=_line(root), field="groups")
    groups = top["groups"]
    if not isinstance(groups, yaml.SequenceNode) or not groups.value:
        raise RuleValidationError("expected a list of groups", line=_line(groups), field="groups")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    first_lines: dict[str, int] = {}
    for group_node in groups.value:
        group = _mapping(group_node, "", _GROUP_KEYS)
        for required in ("name", "rules"):
            if required not in group:
                raise RuleValidationError("missing", line=_line(group_node), field=required)
        name = _text(group["name"], "name")
        if name in seen:
            message = f"duplicate group name {name!r} (first on line {seen[name]})"
            raise RuleValidationError(message, line=_line(group["name"]), field="name")
        seen[name] = _line(group["name"])
        if "interval" in group:
            _duration(group["interval"], "interval")
        rules += _group_rules(group["rules"], name, first_lines)
    return rules


def _group_rules(node: yaml.Node, group: str, first_lines: dict[str, int]) -> list[Rule]:
    """The rules of one group; alert names must be unique across the file (they are ids)."""
    if not isinstance(node, yaml.SequenceNode):
        raise RuleValidationError("expected a list of rules", line=_line(node), field="rules")
    rules = []
    for item in node.value:
        rule = _rule(item, group)
        line = _line(_mapping(item, "", None)["alert"])
        if rule.name in first_lines:
            message = f"duplicate alert name {rule.name!r} (first on line {first_lines[rule.name]})"
            raise RuleValidationError(message, line=line, field="alert")
        first_lines[rule.name] = line
        rules.append(rule)
    return rules


def select_series(rule: Rule, catalog: pd.DataFrame) -> np.ndarray:
    """Which catalog rows the rule's selector matches (a missing label counts as empty)."""
    return select(rule.metric, rule.matchers, catalog)


def render_annotations(rule: Rule, labels: Mapping[str, str], value: float) -> dict[str, str]:
    """The rule's annotations with their templates filled in (see :mod:`analytics.templates`)."""
    return render_templates(rule.annotations, labels, value)
