"""PromQL expressions as Vigil evaluates them: promql-parser's syntax tree, checked and
turned into small frozen nodes.

promql-parser (Prometheus' grammar, ported to Rust) does the parsing and type checking,
so an expression Prometheus rejects is rejected here with Prometheus' own message. What
remains is refusing, with a message, what Vigil does not evaluate (yet): the ``@``
modifier, subqueries, negative offsets, histograms and a few functions. A rule that
silently meant something else than it says would be worse than a refused one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import promql_parser as pp

from analytics.promql.errors import PromQLError

LOOKBACK_MS = 300_000  # Prometheus' default lookback delta (staleness window)

INSTANT_FUNCTIONS = frozenset({
    "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "round",
    "clamp", "clamp_min", "clamp_max", "absent", "vector", "scalar", "time", "sort",
    "sort_desc", "hour", "minute", "day_of_week", "day_of_month", "day_of_year",
    "days_in_month", "month", "year",
})  # fmt: skip
RANGE_FUNCTIONS = frozenset({
    "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "changes",
    "resets", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time",
    "present_over_time", "absent_over_time",
})  # fmt: skip
AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})
COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~",
              "MatchOp.NotRe": "!~"}  # fmt: skip
_CARDINALITY = {"VectorMatchCardinality.OneToOne": "one-to-one",
                "VectorMatchCardinality.ManyToOne": "many-to-one",
                "VectorMatchCardinality.OneToMany": "one-to-many",
                "VectorMatchCardinality.ManyToMany": "many-to-many"}  # fmt: skip


@dataclass(frozen=True)
class Selector:
    """An instant vector selector; ``offset_ms`` shifts it into the past."""

    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]
    offset_ms: int = 0

    @property
    def equality_labels(self) -> dict[str, str]:
        """What ``absent()`` labels its answer with: the selector's ``=`` matchers."""
        out = {name: value for name, op, value in self.matchers if op == "=" and name != "__name__"}
        return out


@dataclass(frozen=True)
class RangeSelector:
    selector: Selector
    range_ms: int


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: Node
    grouping: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True)
class Unary:
    expr: Node  # always negation: a unary plus is dropped by the parser


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: Node
    rhs: Node
    return_bool: bool = False
    card: str = "one-to-one"
    on: bool = False  # matching labels are the ones to match on (else: to ignore)
    matching: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # group_left/group_right labels copied from the one side


Node = Selector | RangeSelector | Number | Call | Aggregate | Unary | Binary


def is_scalar(node: Node) -> bool:
    """Whether a node evaluates to a scalar (a number per evaluation time)."""
    if isinstance(node, Number):
        return True
    if isinstance(node, Unary):
        return is_scalar(node.expr)
    if isinstance(node, Call):
        return node.func in ("time", "scalar")
    if isinstance(node, Binary):
        return is_scalar(node.lhs) and is_scalar(node.rhs)
    return False


@lru_cache(maxsize=4096)
def compile_query(text: str) -> Node:
    """The expression as nodes; :class:`PromQLError` with a readable reason if it cannot be
    parsed or uses what Vigil does not evaluate."""
    try:
        tree = pp.parse(text)
    except ValueError as err:
        raise PromQLError(f"invalid PromQL: {err}") from None
    node = _node(tree)
    if isinstance(node, RangeSelector):
        raise PromQLError("a range vector cannot be a rule's result; wrap it in a function "
                          "such as rate() or avg_over_time()")  # fmt: skip
    return node


def _millis(delta: object) -> int:
    return round(delta.total_seconds() * 1000) if delta is not None else 0  # type: ignore[attr-defined]


def _selector(tree: pp.VectorSelector) -> Selector:
    if tree.at is not None:
        raise PromQLError("the @ modifier is not supported")
    if tree.matchers.or_matchers:
        raise PromQLError("'or' inside a selector's braces is not supported")
    offset = _millis(tree.offset)
    if offset < 0:
        raise PromQLError("negative offsets are not supported")
    matchers = tuple((m.name, _MATCH_OPS[str(m.op)], m.value) for m in tree.matchers.matchers)
    for _, op, value in matchers:
        if op in ("=~", "!~"):  # matched with Python's re: refuse what it cannot compile
            try:
                re.compile(value)
            except re.error as err:
                raise PromQLError(f"invalid regex {value!r}: {err}") from None
    return Selector(tree.name, matchers, offset)


def _node(tree: object) -> Node:
    kind = type(tree).__name__
    if kind == "ParenExpr":
        return _node(tree.expr)  # type: ignore[attr-defined]
    if kind == "NumberLiteral":
        return Number(float(tree.val))  # type: ignore[attr-defined]
    if kind == "VectorSelector":
        return _selector(tree)  # type: ignore[arg-type]
    if kind == "MatrixSelector":
        return RangeSelector(_selector(tree.vector_selector), _millis(tree.range))  # type: ignore[attr-defined]
    if kind == "UnaryExpr":
        return Unary(_node(tree.expr))  # type: ignore[attr-defined]
    if kind == "Call":
        return _call(tree)
    if kind == "AggregateExpr":
        return _aggregate(tree)
    if kind == "BinaryExpr":
        return _binary(tree)
    if kind == "SubqueryExpr":
        raise PromQLError("subqueries ([range:step]) are not supported")
    if kind == "StringLiteral":
        raise PromQLError("string values are not supported here")
    raise PromQLError(f"{kind} is not supported")


def _call(tree: object) -> Call:
    name = tree.func.name  # type: ignore[attr-defined]
    if name not in INSTANT_FUNCTIONS and name not in RANGE_FUNCTIONS:
        raise PromQLError(f"function {name}() is not supported yet")
    args = tuple(_node(arg) for arg in tree.args)  # type: ignore[attr-defined]
    if name in RANGE_FUNCTIONS and not isinstance(args[0], RangeSelector):
        raise PromQLError(f"{name}() needs a range selector such as metric[5m]")
    return Call(name, args)


def _aggregate(tree: object) -> Aggregate:
    op = str(tree.op)  # type: ignore[attr-defined]
    if op not in AGGREGATIONS:
        known = ", ".join(sorted(AGGREGATIONS))
        raise PromQLError(f"aggregation {op} is not supported yet (use {known})")
    modifier = tree.modifier  # type: ignore[attr-defined]
    without = modifier is not None and str(modifier.type) == "AggModifierType.Without"
    grouping = tuple(modifier.labels) if modifier is not None else ()
    return Aggregate(op, _node(tree.expr), grouping, without)  # type: ignore[attr-defined]


def _binary(tree: object) -> Binary:
    op = str(tree.op)  # type: ignore[attr-defined]
    lhs, rhs = _node(tree.lhs), _node(tree.rhs)  # type: ignore[attr-defined]
    modifier = tree.modifier  # type: ignore[attr-defined]
    default_card = "many-to-many" if op in SET_OPERATORS else "one-to-one"
    if modifier is None:
        return Binary(op, lhs, rhs, card=default_card)
    matching = modifier.matching
    return Binary(
        op, lhs, rhs,
        return_bool=bool(modifier.return_bool),
        card=_CARDINALITY.get(str(modifier.card), default_card),
        on=matching is not None and str(matching.type) == "LabelModifierType.Include",
        matching=tuple(matching.labels) if matching is not None else (),
        include=tuple(modifier.group_labels or ()),
    )  # fmt: skip


def selectors(node: Node) -> list[tuple[Selector, int]]:
    """Every selector in the expression with how far back (ms) it reads before an
    evaluation time: its range or the lookback, plus its offset."""
    if isinstance(node, Selector):
        return [(node, LOOKBACK_MS + node.offset_ms)]
    if isinstance(node, RangeSelector):
        return [(node.selector, node.range_ms + node.selector.offset_ms)]
    children: tuple[Node, ...] = ()
    if isinstance(node, Call):
        children = node.args
    elif isinstance(node, Aggregate | Unary):
        children = (node.expr,)
    elif isinstance(node, Binary):
        children = (node.lhs, node.rhs)
    return [found for child in children for found in selectors(child)]
