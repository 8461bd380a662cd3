"""Vigil's PromQL evaluator gives the values Prometheus gives, on random expressions.

Each random case (see :mod:`tests.promql_cases`) is evaluated by Vigil at every minute;
its answer goes into a ``promtool test rules`` file as an extra input series,
``vigil_result``, beside the case's own series. promtool (Prometheus' engine) then
evaluates, at every minute, an expression that returns exactly the elements where the two
disagree — a value off by more than a relative 1e-6, or an element only one side has,
metric name included — and the test expects it to return nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from analytics.promql import EvaluationError, PromQLError, Semantics
from tests.conftest import need_binary
from tests.promql_cases import MINUTES, random_case
from tests.promtool import prometheus_2, run_unit_tests, value_check, vigil_answer

CASES = 250


def test_random_expressions_agree_with_promtool(tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    semantics = Semantics(prometheus_2=prometheus_2(promtool))
    rng = np.random.default_rng(20261201)
    tests, answered = [], 0
    for _ in range(CASES):
        case = random_case(rng)
        try:
            answer = vigil_answer(case, semantics)
        except (EvaluationError, PromQLError) as err:  # the grammar should never do this
            pytest.fail(f"{case.expr}: {err}")
        answered += sum(int(present.sum()) for _, _, present in answer)
        tests.append(value_check(case, answer))
    assert answered > CASES * MINUTES, "the random cases should mostly return elements"
    run_unit_tests(promtool, tmp_path, [({"groups": []}, tests)])


def test_range_functions_give_the_same_answer_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large range-function inputs are computed a block of series at a time; a block of
    one series must answer exactly what one block of all of them does."""
    module = importlib.import_module("analytics.promql.evaluate")  # not the function

    rng = np.random.default_rng(11)
    cases = [random_case(rng) for _ in range(60)]
    cases = [c for c in cases if "[" in c.expr]
    assert len(cases) > 20
    whole = [vigil_answer(c, Semantics()) for c in cases]
    monkeypatch.setattr(module, "BLOCK_CELLS", 1)
    for case, expected in zip(cases, whole, strict=True):
        for (la, va, pa), (lb, vb, pb) in zip(expected, vigil_answer(case, Semantics()),
                                              strict=True):  # fmt: skip
            assert la == lb, case.expr
            np.testing.assert_array_equal(pa, pb)
            np.testing.assert_array_equal(np.where(pa, va, 0), np.where(pb, vb, 0))
