"""PromQL for Vigil's rules: Prometheus' expression language, evaluated over Vigil's
series with Prometheus' semantics, at every time of an evaluation grid at once.

Parsing is promql-parser's; evaluation is numpy over (series × time) matrices. See
:mod:`analytics.promql.nodes` for what is supported.
"""

from analytics.promql.errors import EvaluationError, PromQLError
from analytics.promql.evaluate import Data, Semantics, evaluate, evaluate_vector
from analytics.promql.nodes import Node, Selector, compile_query, selectors
from analytics.promql.samples import SampleSet
from analytics.promql.vectors import Vector

__all__ = [
    "Data",
    "EvaluationError",
    "Node",
    "PromQLError",
    "SampleSet",
    "Selector",
    "Semantics",
    "Vector",
    "compile_query",
    "evaluate",
    "evaluate_vector",
    "selectors",
]
