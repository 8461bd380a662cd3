"""Instant vectors over an evaluation grid, and the label arithmetic PromQL does on them.

An expression's value at every evaluation time is one :class:`Vector`: a label set per
element (labels never change over time for an element), a (elements × times) matrix of
values and one of presence. Presence is separate from the value because NaN is a value in
PromQL (``0 / 0``), while "no sample at that time" is the absence of an element.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

NAME = "__name__"
SAME_LABELSET = "vector cannot contain metrics with the same labelset"
Labels = dict[str, str]


@dataclass(frozen=True)
class Vector:
    """Elements with static labels and per-time values; see the module docstring."""

    labels: tuple[Labels, ...]
    values: np.ndarray  # (n, T) float
    present: np.ndarray  # (n, T) bool
    sources: np.ndarray  # (n,) int64: the catalog row an element comes from, -1 if several

    @classmethod
    def empty(cls, times: int) -> Vector:
        return cls((), np.zeros((0, times)), np.zeros((0, times), dtype=bool),
                   np.zeros(0, dtype=np.int64))  # fmt: skip

    @property
    def times(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.labels)

    def with_values(self, values: np.ndarray, present: np.ndarray | None = None) -> Vector:
        return Vector(self.labels, values, self.present if present is None else present,
                      self.sources)  # fmt: skip

    def with_labels(self, labels: Sequence[Labels]) -> Vector:
        return Vector(tuple(labels), self.values, self.present, self.sources)

    def take(self, rows: np.ndarray) -> Vector:
        rows = np.asarray(rows, dtype=np.int64)
        return Vector(tuple(self.labels[i] for i in rows), self.values[rows], self.present[rows],
                      self.sources[rows])  # fmt: skip

    def compact(self) -> Vector:
        """Without elements that are never present."""
        keep = self.present.any(axis=1)
        return self if keep.all() else self.take(np.flatnonzero(keep))


def drop_name(labels: Iterable[Labels]) -> tuple[Labels, ...]:
    return tuple({k: v for k, v in item.items() if k != NAME} for item in labels)


def unnamed(vector: Vector) -> Vector:
    """The vector without metric names. Elements that differed only by name become one
    element, as in Prometheus, where two of them at the same time are an error."""
    names = {labels.get(NAME) for labels in vector.labels}
    if names == {None} or not vector.labels:
        return vector
    stripped = vector.with_labels(drop_name(vector.labels))
    if len(names) == 1:  # one metric: its elements had distinct labels before, and still do
        return stripped
    return merge_same_labels(stripped, SAME_LABELSET)


def signature(labels: Labels, names: Sequence[str], on: bool) -> tuple[tuple[str, str], ...]:
    """The labels two elements must share to match: ``on`` the names, or all but the names
    (and the metric name, which matching always ignores then)."""
    if on:
        return tuple((k, labels[k]) for k in sorted(names) if labels.get(k, "") != "")
    skip = {*names, NAME}
    return tuple(sorted((k, v) for k, v in labels.items() if k not in skip))


def codes(keys: Sequence[object]) -> tuple[np.ndarray, list[object]]:
    """An integer per key (equal keys, equal integers) and the distinct keys in order."""
    index: dict[object, int] = {}
    out = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
    return out, list(index)


def merge_same_labels(vector: Vector, clash: str) -> Vector:
    """One element per label set: elements that share labels are combined, as long as no
    two are present at the same time (``clash`` is the error otherwise)."""
    from analytics.promql.errors import EvaluationError

    keys = [tuple(sorted(labels.items())) for labels in vector.labels]
    code, distinct = codes(keys)
    if len(distinct) == len(keys):
        return vector
    counts = np.zeros((len(distinct), vector.times), dtype=np.int64)
    np.add.at(counts, code, vector.present.astype(np.int64))
    if (counts > 1).any():
        raise EvaluationError(clash)
    values = np.zeros((len(distinct), vector.times))
    np.add.at(values, code, np.where(vector.present, vector.values, 0.0))
    present = counts > 0
    first = np.full(len(distinct), -1, dtype=np.int64)
    sources = np.full(len(distinct), -1, dtype=np.int64)
    for row, c in enumerate(code):  # once per element, not per time
        if first[c] < 0:
            first[c], sources[c] = row, vector.sources[row]
        elif sources[c] != vector.sources[row]:
            sources[c] = -1
    labels = tuple(vector.labels[i] for i in first)
    return Vector(labels, np.where(present, values, np.nan), present, sources)
