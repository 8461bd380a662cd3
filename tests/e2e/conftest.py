"""One real `vigil demo` run shared by the end-to-end tests (it takes a minute or two)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class DemoRun:
    data_dir: Path
    stdout: str


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "demo", "--days", "14", "--seed", "1",
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return DemoRun(data_dir, result.stdout)
