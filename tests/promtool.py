"""Running Debian's promtool on unit-test files, for the tests that hold Vigil to it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analytics.promql import Data, SampleSet, Semantics, compile_query, evaluate_vector
from tests.promql_cases import MINUTES, Case

MINUTE_MS = 60_000


def prometheus_2(promtool: str) -> bool:
    """Whether promtool is Prometheus 2.x, whose lookback and ranges include their left
    edge and whose rate extrapolation differs from 3.x in one step."""
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True)
    found = re.search(r"version (\d+)\.", version.stdout + version.stderr)
    return found is not None and int(found.group(1)) < 3


def run_unit_tests(promtool: str, where: Path, suites: list[tuple[dict, list[dict]]]) -> str:
    """Write each (rule file, unit tests) suite to its own pair of files in ``where`` and
    have one promtool run check them all; returns what promtool printed, and raises
    AssertionError with its tail when a test failed.

    One rule file per suite, because promtool evaluates every rule of a test's rule files
    at every step of that test: hundreds of cases sharing one file would cost the square.
    """
    names = []
    for i, (rules, tests) in enumerate(suites):
        (where / f"rules_{i}.yml").write_text(yaml.safe_dump(rules, width=1000))
        spec = {"rule_files": [f"rules_{i}.yml"], "evaluation_interval": "1m", "tests": tests}
        (where / f"test_{i}.yml").write_text(yaml.safe_dump(spec, width=1000))
        names.append(f"test_{i}.yml")
    result = subprocess.run(
        [promtool, "test", "rules", *names], cwd=where, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


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


def value_check(case: Case, answer: Answer) -> dict:
    """A unit test in which promtool returns every element where Prometheus' value of
    ``case.expr`` and Vigil's ``answer`` (an input series, ``vigil_result``) disagree, at
    every minute, and expects nothing."""
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
