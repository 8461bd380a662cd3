"""The two ways a PromQL expression fails: refused before evaluation, or during it."""

from __future__ import annotations


class PromQLError(ValueError):
    """An expression that cannot be parsed or uses what Vigil does not evaluate."""


class EvaluationError(RuntimeError):
    """An expression that is valid but fails on the data, as Prometheus' would (e.g.
    many-to-many matching found at some evaluation time)."""
