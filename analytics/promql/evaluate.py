"""Evaluating a compiled expression at every time of an evaluation grid at once.

The answer for each evaluation time is what a Prometheus instant query at that time would
return; computing the whole grid in one pass is what makes replaying a rule over days
(backtests, re-evaluation after restart) as cheap as evaluating it once per series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from analytics.promql import binary, functions
from analytics.promql.aggregate import aggregate
from analytics.promql.errors import PromQLError
from analytics.promql.nodes import (
    LOOKBACK_MS,
    Aggregate,
    Binary,
    Call,
    Node,
    Number,
    RangeSelector,
    Selector,
    Unary,
    is_scalar,
)
from analytics.promql.ranges import (
    Windows,
    extrapolated_rate,
    instant_rate,
    linear_regression,
    over_time,
)
from analytics.promql.samples import SampleSet
from analytics.promql.vectors import NAME, Labels, Vector, unnamed
from analytics.selectors import select

Value = Vector | np.ndarray  # an instant vector, or a scalar (one number per time)


@dataclass(frozen=True)
class Semantics:
    """The Prometheus behaviour to follow where its major versions differ: Prometheus 2
    counts a sample exactly a lookback or range old as inside it, and extrapolates
    ``rate`` towards a counter's zero point before capping the extrapolation."""

    prometheus_2: bool = False
    lookback_ms: int = LOOKBACK_MS


@dataclass(frozen=True)
class Data:
    """What expressions are evaluated over: series (catalog rows with ``metric`` and a
    ``labels`` dict) and their samples, at evaluation times ``at_ms``."""

    catalog: pd.DataFrame
    samples: SampleSet
    at_ms: np.ndarray
    semantics: Semantics = Semantics()
    select_cache: dict = field(default_factory=dict, compare=False, repr=False)
    # Selectors, range functions and aggregations already evaluated over this data: rule
    # files repeat them (a warning and a critical rule over the same rate(), say).
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def labels(self) -> tuple[Labels, ...]:
        """Each catalog row's labels, metric name included, as selectors return them."""
        return tuple(
            {**{k: str(v) for k, v in item.items() if v not in (None, "")}, NAME: str(metric)}
            for metric, item in zip(self.catalog["metric"], self.catalog["labels"], strict=True)
        )

    @property
    def times(self) -> int:
        return len(self.at_ms)


MEMO_CELLS = 20_000_000  # elements × times kept for reuse in one evaluation, at most


def evaluate(node: Node, data: Data) -> Value:
    """The expression's value at every evaluation time."""
    if not isinstance(node, Selector | Call | Aggregate | Binary):
        return _evaluate(node, data)
    if node in data.memo:
        return data.memo[node]
    value = _evaluate(node, data)
    if isinstance(value, Vector):
        used = data.memo.get("_cells", 0) + value.values.size
        if used <= MEMO_CELLS:
            data.memo[node] = value
            data.memo["_cells"] = used
    return value


def _evaluate(node: Node, data: Data) -> Value:
    if isinstance(node, Number):
        return np.full(data.times, node.value)
    if isinstance(node, Selector):
        return _instant(node, data)
    if isinstance(node, Unary):
        inner = evaluate(node.expr, data)
        if isinstance(inner, np.ndarray):
            return -inner
        return unnamed(inner.with_values(-inner.values))
    if isinstance(node, Aggregate):
        inner = evaluate(node.expr, data)
        assert isinstance(inner, Vector)
        return aggregate(inner, node.op, node.grouping, node.without)
    if isinstance(node, Binary):
        return _binary(node, data)
    if isinstance(node, Call):
        return _call(node, data)
    raise PromQLError(f"cannot evaluate {type(node).__name__} on its own")


def _rows(selector: Selector, data: Data) -> np.ndarray:
    if data.catalog.empty:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(select_rows(data, selector.metric, selector.matchers))


def select_rows(
    data: Data, metric: str | None, matchers: tuple[tuple[str, str, str], ...]
) -> np.ndarray:
    """Which catalog rows a selector matches, as a boolean mask."""
    if data.catalog.empty:
        return np.zeros(0, dtype=bool)
    return select(metric, matchers, data.catalog, data.select_cache)


def _instant(selector: Selector, data: Data) -> Vector:
    rows = _rows(selector, data)
    s = data.semantics
    index = data.samples.latest(rows, data.at_ms - selector.offset_ms, s.lookback_ms,
                                s.prometheus_2)  # fmt: skip
    labels = tuple(data.labels[r] for r in rows)
    values = data.samples.values_at(index)
    return Vector(labels, values, index >= 0, rows.astype(np.int64)).compact()


def _windows(node: RangeSelector, data: Data, rows: np.ndarray) -> Windows:
    at = data.at_ms - node.selector.offset_ms
    lo, hi = data.samples.window(rows, at, node.range_ms, data.semantics.prometheus_2)
    return Windows(data.samples, rows, lo, hi, data.at_ms, node.range_ms,
                   node.selector.offset_ms)  # fmt: skip


def _binary(node: Binary, data: Data) -> Value:
    lhs, rhs = evaluate(node.lhs, data), evaluate(node.rhs, data)
    if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
        return binary.scalar_scalar(node, lhs, rhs)
    if isinstance(lhs, Vector) and isinstance(rhs, Vector):
        return binary.vector_vector(node, lhs, rhs)
    if isinstance(lhs, Vector):
        return binary.vector_scalar(node, lhs, rhs, scalar_left=False)  # type: ignore[arg-type]
    return binary.vector_scalar(node, rhs, lhs, scalar_left=True)  # type: ignore[arg-type]


def _scalar_arg(args: Sequence[Node], i: int, data: Data) -> np.ndarray | None:
    if i >= len(args):
        return None
    value = evaluate(args[i], data)
    assert isinstance(value, np.ndarray)
    return value


def _call(node: Call, data: Data) -> Value:
    name, args = node.func, node.args
    if isinstance(args[0] if args else None, RangeSelector):
        return _range_call(node, data)
    if name == "time":
        return data.at_ms / 1000.0
    if name == "vector":
        return functions.vector_of(_scalar_arg(args, 0, data))  # type: ignore[arg-type]
    if name in functions.CALENDAR and not args:
        return functions.calendar(name, functions.vector_of(data.at_ms / 1000.0))
    inner = evaluate(args[0], data)
    assert isinstance(inner, Vector)
    if name == "scalar":
        return functions.scalar_of(inner)
    if name == "absent":
        labels = args[0].equality_labels if isinstance(args[0], Selector) else {}
        return functions.absent(inner, labels, data.times)
    if name in ("sort", "sort_desc"):
        return inner
    if name in functions.CALENDAR:
        return functions.calendar(name, inner)
    if name == "round":
        return functions.round_to(inner, _scalar_arg(args, 1, data))
    if name in ("clamp", "clamp_min", "clamp_max"):
        first, second = _scalar_arg(args, 1, data), _scalar_arg(args, 2, data)
        low = first if name in ("clamp", "clamp_min") else None
        high = second if name == "clamp" else first if name == "clamp_max" else None
        return functions.clamp(inner, low, high)
    return functions.math_function(name, inner)


BLOCK_CELLS = 1_000_000  # series × times a range function works on at once


def _range_call(node: Call, data: Data) -> Vector:
    """A range function, a block of series at a time: its dozen (series × time)
    temporaries then stay in cache instead of streaming from memory."""
    name, selector = node.func, node.args[0]
    assert isinstance(selector, RangeSelector)
    rows = _rows(selector.selector, data)
    labels = tuple(data.labels[r] for r in rows)
    if name == "absent_over_time":
        counts = _windows(selector, data, rows).count
        inner = Vector(labels, np.zeros(counts.shape), counts > 0, rows)
        return functions.absent(inner, selector.selector.equality_labels, data.times)
    blocks = max(1, len(rows) * data.times // BLOCK_CELLS)
    parts = [_range_values(name, node, _windows(selector, data, part), data)
             for part in np.array_split(rows, blocks)]  # fmt: skip
    values = np.concatenate([v for v, _ in parts]) if parts else np.zeros((0, data.times))
    present = np.concatenate([p for _, p in parts]) if parts else np.zeros(values.shape, bool)
    out = Vector(labels, np.where(present, values, np.nan), present, rows.astype(np.int64))
    return out.compact() if name == "last_over_time" else unnamed(out.compact())


def _range_values(name: str, node: Call, windows: Windows, data: Data
                  ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    prom2 = data.semantics.prometheus_2
    if name in ("rate", "increase", "delta"):
        return extrapolated_rate(windows, counter=name != "delta", per_second=name == "rate",
                                 prometheus_2=prom2)  # fmt: skip
    if name in ("irate", "idelta"):
        return instant_rate(windows, per_second=name == "irate")
    if name in ("deriv", "predict_linear"):
        slope, intercept = linear_regression(windows, data.at_ms)
        if name == "deriv":
            return slope, windows.count >= 2
        horizon = _scalar_arg(node.args, 1, data)
        return slope * horizon[None, :] + intercept, windows.count >= 2  # type: ignore[index]
    return over_time(name, windows)


def evaluate_vector(node: Node, data: Data) -> Vector:
    """The expression as an alerting rule sees it: an instant vector (a scalar result is
    one element without labels, as Prometheus' rule evaluation makes it)."""
    value = evaluate(node, data)
    if isinstance(value, np.ndarray):
        return functions.vector_of(value)
    return value


__all__ = ["Data", "Semantics", "evaluate", "evaluate_vector", "is_scalar"]
