"""Shared fixtures: real DuckDB files in temporary data dirs, never mocks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.store import Store

REQUIRE_INTEGRATION = os.environ.get("VIGIL_REQUIRE_INTEGRATION") == "1"


def need_binary(name: str) -> str:
    """Path of a system binary; skip (or fail under VIGIL_REQUIRE_INTEGRATION=1) if absent."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if REQUIRE_INTEGRATION:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = Store.open(data_dir)
    yield opened
    opened.close()
