"""Shared fixtures: real DuckDB files in temporary data dirs, never mocks."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
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


def run_vigil(data_dir: Path, *args: str, port: int = 0) -> subprocess.CompletedProcess:
    """``vigil ARGS --data-dir D`` in a child process, with no config file and the engine
    HTTP port it should ask (0: none) on loopback."""
    env = os.environ | {
        "VIGIL_CONFIG": str(data_dir.parent / "none.toml"),
        "VIGIL_HTTP_PORT": str(port),
        "VIGIL_HTTP_HOST": "127.0.0.1",
    }
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args, "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@contextlib.contextmanager
def serving_engine(data_dir: Path, port: int) -> Iterator[object]:
    """An engine holding ``data_dir`` with only its HTTP port on ``port`` (no sources, no
    jobs): what a command finds when Vigil runs."""
    from vigil.engine import Engine
    from vigil.settings import load_settings

    settings = load_settings(
        data_dir=data_dir, demo_enabled=False, host_enabled=False,
        scheduler_enabled=False, http_port=port, http_host="127.0.0.1",
    )  # fmt: skip
    engine = Engine(settings)
    try:
        yield engine
    finally:
        engine.stop()


def engine_auth(data_dir: Path) -> dict[str, str]:
    """The header the engine's POST endpoints need, read as the CLI reads it."""
    from vigil.api_token import read_api_token

    token = read_api_token(data_dir)
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = Store.open(data_dir)
    yield opened
    opened.close()
