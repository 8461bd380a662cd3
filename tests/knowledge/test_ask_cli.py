"""``vigil ask`` in a child process: on the data dir, and through the engine's
``POST /api/v1/ask`` while an engine holds it; the same evidence answer either way, and a
bad question is one line and exit status 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.conftest import run_vigil, serving_engine
from tests.knowledge.test_assistant_support import (
    estate_settings,
    open_knowledge,
    runbooks_dir,
    seeded_estate,
)
from vigil.store import Store


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The known estate with its knowledge base indexed from the data dir's runbooks."""
    tmp = tmp_path_factory.mktemp("ask")
    data_dir, _ = seeded_estate(tmp)
    settings = estate_settings(data_dir, runbooks_dir(data_dir, hostile=False))
    store = Store.open(data_dir)
    open_knowledge(settings, store).close()
    store.close()
    return data_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_answer(answer: dict) -> None:
    assert (answer["mode"], answer["reason"]) == ("evidence", "unconfigured")
    assert answer["candidates"][0]["service"] == "payments"
    series = [c for c in answer["citations"] if c["kind"] == "series"]
    assert series[0]["series_id"] == 2
    assert any(c["kind"] == "runbook" for c in answer["citations"])


def test_ask_answers_on_the_data_dir(data_dir: Path) -> None:
    result = run_vigil(data_dir, "ask", "why is payments slow?", "--json")
    assert result.returncode == 0, result.stderr
    _check_answer(json.loads(result.stdout))
    plain = run_vigil(data_dir, "ask", "为什么支付很慢", "--lang", "zh")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("**证据模式**") and "Sources:" in plain.stdout
    assert "[evidence mode: unconfigured]" in plain.stderr


def test_ask_goes_through_the_engine_that_holds_the_data_dir(data_dir: Path) -> None:
    port = _free_port()
    with serving_engine(data_dir, port) as engine:
        result = run_vigil(data_dir, "ask", "why is payments slow?", "--json", port=port)
        assert result.returncode == 0, result.stderr
        _check_answer(json.loads(result.stdout))
        held = engine.store.one("SELECT count(*) FROM chat_messages WHERE role = 'assistant'")
        assert held >= 1
        bad = run_vigil(data_dir, "ask", "why?", "--alert", "no-such-alert", port=port)
    assert bad.returncode == 2 and "no alert 'no-such-alert'" in bad.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "ask a question"),
    (["why?", "--alert", "no-such-alert"], "no alert 'no-such-alert'"),
    (["why?", "--lang", "fr"], "unknown language 'fr'"),
])  # fmt: skip
def test_bad_questions_are_one_line_errors(data_dir: Path, args: list[str], message: str) -> None:
    result = run_vigil(data_dir, "ask", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
