"""Running Debian's promtool on unit-test files, for the tests that hold Vigil to it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml


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
