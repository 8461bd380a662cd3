"""Aggregation operators (``sum by (service) (...)``) over every evaluation time at once.

Elements are sorted by group and each statistic is one ``reduceat`` along the element
axis, so the cost is a sort plus a pass over the (elements × times) matrix.
"""

from __future__ import annotations

import numpy as np

from analytics.promql.vectors import NAME, Labels, Vector, codes


def group_labels(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    """The labels an element's group is known by: ``by`` keeps the grouping labels,
    ``without`` drops them and the metric name."""
    if without:
        drop = {*grouping, NAME}
        return {k: v for k, v in labels.items() if k not in drop}
    return {k: labels[k] for k in grouping if labels.get(k, "") != ""}


def aggregate(vector: Vector, op: str, grouping: tuple[str, ...], without: bool) -> Vector:
    """``op`` over each group of ``vector``, an element per group present at any time."""
    if not len(vector):
        return vector
    keys = [group_labels(labels, grouping, without) for labels in vector.labels]
    code, distinct = codes([tuple(sorted(k.items())) for k in keys])
    order = np.argsort(code, kind="stable")
    sorted_code = code[order]
    heads = np.flatnonzero(np.r_[True, sorted_code[1:] != sorted_code[:-1]])
    present = vector.present[order]
    values = np.where(present, vector.values[order], 0.0)
    count = np.add.reduceat(present.astype(np.int64), heads, axis=0)
    out = _statistic(op, values, present, count, heads, sorted_code)
    labels = tuple(dict(k) for k in distinct)
    members = np.add.reduceat(np.ones(len(code), dtype=np.int64), heads)
    sources = np.where(members == 1, vector.sources[order][heads], -1)
    with np.errstate(invalid="ignore"):
        return Vector(labels, np.where(count > 0, out, np.nan), count > 0, sources).compact()


def _spread(
    op: str, values: np.ndarray, present: np.ndarray, count: np.ndarray, heads: np.ndarray,
    member: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Population variance in two passes, over values shifted by one of the group's own
    values at that time, so that a group of equal values gives exactly 0."""
    reference = np.fmax.reduceat(np.where(present, values, np.nan), heads, axis=0)
    shifted = np.where(present, values - reference[member], 0.0)
    mean = np.add.reduceat(shifted, heads, axis=0) / count
    deviation = np.where(present, shifted - mean[member], 0.0)
    variance = np.add.reduceat(deviation * deviation, heads, axis=0) / count
    return np.sqrt(variance) if op == "stddev" else variance


def _statistic(
    op: str, values: np.ndarray, present: np.ndarray, count: np.ndarray, heads: np.ndarray,
    group: np.ndarray,
) -> np.ndarray:  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        if op == "sum":
            return np.add.reduceat(values, heads, axis=0)
        if op == "avg":  # about one of the group's values: equal values average exactly
            member = np.searchsorted(heads, np.arange(len(group)), side="right") - 1
            reference = np.fmax.reduceat(np.where(present, values, np.nan), heads, axis=0)
            shifted = np.where(present, values - reference[member], 0.0)
            return reference + np.add.reduceat(shifted, heads, axis=0) / count
        if op == "count":
            return count.astype(float)
        if op == "group":
            return np.ones(count.shape)
        if op in ("min", "max"):
            ufunc = np.fmin if op == "min" else np.fmax
            masked = np.where(present, values, np.nan)
            return ufunc.reduceat(masked, heads, axis=0)
        if op in ("stddev", "stdvar"):
            member = np.searchsorted(heads, np.arange(len(group)), side="right") - 1
            return _spread(op, values, present, count, heads, member)
    raise ValueError(f"unknown aggregation {op}")
