"""Binary operators: arithmetic, comparisons and set operators, with PromQL's vector
matching (``on``/``ignoring``, ``group_left``/``group_right``) and its errors.

Labels never change over time for an element, so which elements *can* match is decided
once from their signatures; which ones *do* match at an evaluation time is then a matter
of presence, computed for all times at once. As in Prometheus, the "one" side of a match
must have at most one element per signature at any time, and results must not share a
label set; either failure is an :class:`EvaluationError` for the expression.
"""

from __future__ import annotations

import numpy as np

from analytics.promql.errors import EvaluationError
from analytics.promql.nodes import ARITHMETIC, COMPARISON, Binary
from analytics.promql.vectors import (
    NAME,
    SAME_LABELSET,
    Labels,
    Vector,
    codes,
    merge_same_labels,
    signature,
    unnamed,
)

_ARITH = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "%": np.fmod,
    "^": np.power, "atan2": np.arctan2,
}  # fmt: skip
_COMPARE = {"==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less,
            ">=": np.greater_equal, "<=": np.less_equal}  # fmt: skip


def apply(op: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The operator's value on two arrays (comparisons give 1.0 / 0.0)."""
    with np.errstate(all="ignore"):
        if op in _ARITH:
            return _ARITH[op](lhs, rhs)
        return _COMPARE[op](lhs, rhs).astype(float)


def scalar_scalar(node: Binary, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return apply(node.op, lhs, rhs)


def vector_scalar(node: Binary, vector: Vector, scalar: np.ndarray, scalar_left: bool) -> Vector:
    """A vector against a number per time; comparisons filter (or give 0/1 with bool)."""
    row = scalar[None, :]
    lhs, rhs = (row, vector.values) if scalar_left else (vector.values, row)
    result = apply(node.op, lhs, rhs)
    if node.op in COMPARISON and not node.return_bool:
        present = vector.present & (result == 1.0)
        return Vector(vector.labels, vector.values, present, vector.sources).compact()
    values = np.broadcast_to(result, vector.values.shape).copy()
    return unnamed(Vector(vector.labels, values, vector.present, vector.sources))


def _result_labels(many: Labels, one: Labels, node: Binary) -> Labels:
    """Prometheus' ``resultMetric``: the labels of a matched pair's result."""
    out = dict(many)
    if node.op in ARITHMETIC or node.return_bool:
        out.pop(NAME, None)
    if node.card == "one-to-one":
        if node.on:
            out = {k: v for k, v in out.items() if k in node.matching}
        else:
            for name in node.matching:
                out.pop(name, None)
    for name in node.include:
        if one.get(name, ""):
            out[name] = one[name]
        else:
            out.pop(name, None)
    return out


def _signature_codes(lhs: Vector, rhs: Vector, node: Binary) -> tuple[np.ndarray, np.ndarray]:
    keys = [signature(item, node.matching, node.on) for item in (*lhs.labels, *rhs.labels)]
    code, _ = codes(keys)
    return code[: len(lhs)], code[len(lhs) :]


def _at_most_one(
    present: np.ndarray, code: np.ndarray, n_codes: int, when: np.ndarray, message: str
) -> None:
    """Raise ``message`` if two present elements share a code at a time in ``when``."""
    counts = np.zeros((n_codes, present.shape[1]), dtype=np.int64)
    np.add.at(counts, code, present.astype(np.int64))
    if ((counts > 1) & when[None, :]).any():
        raise EvaluationError(message)


def vector_vector(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    """Arithmetic or comparison between two vectors, matched as the node says."""
    if node.op in ("and", "or", "unless"):
        return _set_operation(node, lhs, rhs)
    l_code, r_code = _signature_codes(lhs, rhs, node)
    swap = node.card == "one-to-many"
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    m_code, o_code = (r_code, l_code) if swap else (l_code, r_code)
    n_codes = int(max(l_code.max(initial=-1), r_code.max(initial=-1))) + 1
    _at_most_one(one.present, o_code, n_codes, many.present.any(axis=0),
                 f"found duplicate series for the match group on the {'left' if swap else 'right'} "
                 "hand-side of the operation; many-to-many matching not allowed: matching "
                 "labels must be unique on one side")  # fmt: skip
    pairs_many, pairs_one = _pairs(m_code, o_code)
    if not len(pairs_many):
        return Vector.empty(lhs.times)
    mv, ov = many.values[pairs_many], one.values[pairs_one]
    left, right = (ov, mv) if swap else (mv, ov)
    result = apply(node.op, left, right)
    present = many.present[pairs_many] & one.present[pairs_one]
    if node.op in COMPARISON and not node.return_bool:
        present &= result == 1.0
        result = left
    if node.card == "one-to-one":
        _at_most_one(present, m_code[pairs_many], n_codes, np.ones(lhs.times, dtype=bool),
                     "multiple matches for labels: many-to-one matching must be explicit "
                     "(group_left/group_right)")  # fmt: skip
    labels = [_result_labels(many.labels[i], one.labels[j], node)
              for i, j in zip(pairs_many, pairs_one, strict=True)]  # fmt: skip
    out = Vector(tuple(labels), result, present, many.sources[pairs_many]).compact()
    return merge_same_labels(out, "multiple matches for labels: grouping labels must ensure "
                                  "unique matches")  # fmt: skip


def _pairs(many_code: np.ndarray, one_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (many index, one index) whose signatures are equal."""
    order = np.argsort(one_code, kind="stable")
    sorted_code = one_code[order]
    lo = np.searchsorted(sorted_code, many_code, side="left")
    hi = np.searchsorted(sorted_code, many_code, side="right")
    counts = hi - lo
    many_idx = np.repeat(np.arange(len(many_code)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    one_idx = order[np.repeat(lo, counts) + offsets]
    return many_idx, one_idx


def _set_operation(node: Binary, lhs: Vector, rhs: Vector) -> Vector:
    """``and``, ``or``, ``unless``: which lhs elements to keep (and, for ``or``, which rhs
    ones to add) at each time, by whether the other side has their signature then."""
    l_code, r_code = _signature_codes(lhs, rhs, node)
    n_codes = int(max(l_code.max(initial=-1), r_code.max(initial=-1))) + 1
    if node.op == "or":
        seen = np.zeros((n_codes, lhs.times), dtype=bool)
        np.logical_or.at(seen, l_code, lhs.present)
        added = rhs.with_values(rhs.values, rhs.present & ~seen[r_code])
        both = _concat(lhs, added).compact()
        return merge_same_labels(both, SAME_LABELSET)
    seen = np.zeros((n_codes, lhs.times), dtype=bool)
    np.logical_or.at(seen, r_code, rhs.present)
    keep = seen[l_code] if node.op == "and" else ~seen[l_code]
    return lhs.with_values(lhs.values, lhs.present & keep).compact()


def _concat(a: Vector, b: Vector) -> Vector:
    return Vector(a.labels + b.labels, np.concatenate([a.values, b.values]),
                  np.concatenate([a.present, b.present]),
                  np.concatenate([a.sources, b.sources]))  # fmt: skip
