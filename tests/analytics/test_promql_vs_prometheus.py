"""Vigil's PromQL evaluator gives the values Prometheus gives, on random expressions.

Each random case (see :mod:`tests.promql_cases`) is evaluated by Vigil at every minute;
its answer goes into a ``promtool test rules`` file as an extra input series,
``vigil_result``, beside the case's own series. promtool (Prometheus' engine) then
evaluates, at every minute, an expression that returns exactly the elements where the two
disagree — a value off by more than a relative 1e-6, or an element only one side has,
metric name included — and the test expects it to return nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.promql import (
    Data,
    EvaluationError,
    PromQLError,
    SampleSet,
    Semantics,
    compile_query,
    evaluate_vector,
)
from tests.conftest import need_binary
from tests.promql_cases import MINUTES, Case, random_case
from tests.promtool import prometheus_2, run_unit_tests

CASES = 250
MINUTE_MS = 60_000


Answer = list[tuple[dict[str, str], np.ndarray, np.ndarray]]


def vigil_answer(case: Case, semantics: Semantics) -> Answer:
    """(labels, values, presence) of every element, per minute; the metric name, which
    an input series cannot carry twice, travels as the label ``name``."""
    catalog = pd.DataFrame({"metric": [s.metric for s in case.series],
                            "labels": [s.labels for s in case.series]})  # fmt: skip
    minutes = np.arange(MINUTES)
    rows, ts, values = [], [], []
    for row, s in enumerate(case.series):
        keep = ~s.missing
        rows.append(np.full(keep.sum(), row))
        ts.append(minutes[keep] * MINUTE_MS)
        values.append(s.values[keep])
    samples = SampleSet.from_arrays(np.concatenate(rows), np.concatenate(ts),
                                    np.concatenate(values), len(case.series))  # fmt: skip
    data = Data(catalog, samples, minutes * MINUTE_MS, semantics)
    result = evaluate_vector(compile_query(case.expr), data)
    named = [{("name" if k == "__name__" else k): v for k, v in item.items()}
             for item in result.labels]  # fmt: skip
    return [(labels, result.values[i], result.present[i]) for i, labels in enumerate(named)]


def _number(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _result_series(labels: dict[str, str], values: np.ndarray, present: np.ndarray) -> dict:
    inside = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    text = " ".join(_number(v) if p else "_" for v, p in zip(values, present, strict=True))
    return {"series": f"vigil_result{{{inside}}}", "values": text}


def promtool_test(case: Case, answer: Answer) -> dict:
    mine = "last_over_time(vigil_result[1s])"  # exactly the sample at the evaluation time
    theirs = f'label_replace(({case.expr}), "name", "$1", "__name__", "(.+)")'
    check = (f"(abs({theirs} - {mine}) > (1e-6 * abs({mine}) + 1e-9)) "
             f"or ({theirs} unless {mine}) or ({mine} unless {theirs})")  # fmt: skip
    inputs = [{"series": s.selector, "values": s.promtool_values()} for s in case.series]
    inputs += [_result_series(*element) for element in answer]
    return {
        "interval": "1m",
        "input_series": inputs,
        "promql_expr_test": [
            {"expr": check, "eval_time": f"{m}m", "exp_samples": []} for m in range(MINUTES)
        ],
    }


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
        tests.append(promtool_test(case, answer))
    assert answered > CASES * MINUTES, "the random cases should mostly return elements"
    run_unit_tests(promtool, tmp_path, [({"groups": []}, tests)])
