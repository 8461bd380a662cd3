"""Hostile documents and questions for the knowledge base and the assistant: upload names
that would reach another place, oversized and non-UTF-8 documents, PDFs that inflate to
gigabytes, and a 1 MB question. Each is refused in one line; the knowledge base keeps the
documents and passages it had, and no chat message is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.assistant import MAX_QUESTION_CHARS, ask_request
from knowledge.base import KnowledgeBase
from knowledge.chunking import MAX_DOCUMENT_BYTES, MAX_PDF_CONTENT_BYTES
from knowledge.embedding import OfflineEmbedding
from knowledge.uploads import MAX_UPLOAD_BYTES
from tests.hostile.conftest import (
    Served,
    assert_cli_refused,
    assert_http_refused,
    assert_one_line,
    file_state,
    state_of,
    vigil_in_process,
)
from tests.hostile.payloads import INVALID_UTF8, UNSAFE_UPLOAD_NAMES, inflating_pdf
from tests.ui.conftest import Seeded
from vigil.errors import VigilError
from vigil.settings import load_settings
from vigil.store import Store

RUNBOOK_CASES = [
    (b"# Disk full\n\n" + b"x" * (MAX_DOCUMENT_BYTES + 1), "MiB"),
    (INVALID_UTF8, "UTF-8"),
    (inflating_pdf(3, MAX_PDF_CONTENT_BYTES // 2), "inflates"),
]
QUESTIONS = [
    {"question": "x" * 1_000_000},
    {"question": "why? " * (MAX_QUESTION_CHARS // 4)},
    {"question": ""},
    {"question": 7},
    {"question": "why?", "alert_id": ["x"]},
    {"question": "why?", "lang": "'; DROP TABLE chat_messages; --"},
    {"question": "why?", "alert_id": "'; DROP TABLE alerts; --"},
]
QUESTION_IDS = ["1 MB", "over the limit", "empty", "not text", "alert not text", "bad lang",
                "injected alert"]  # fmt: skip
GOOD = b"# Checkout latency\n\nRestart the checkout pods, then watch p99 latency.\n"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """A real Chroma dir with one upload and one runbook already indexed."""
    root = tmp_path_factory.mktemp("kb")
    (root / "runbooks").mkdir()
    (root / "runbooks" / "disk.md").write_bytes(b"# Disk full\n\nDelete old snapshots.\n")
    settings = load_settings(data_dir=root / "data", runbooks_dir=root / "runbooks",
                             demo_enabled=False, host_enabled=False)  # fmt: skip
    base = KnowledgeBase.open(settings, OfflineEmbedding())
    base.ingest_bytes("checkout.md", GOOD)
    assert not base.reindex().errors
    yield base
    base.close()


def _kb_state(kb: KnowledgeBase) -> tuple[list, dict[str, list[str]], dict[str, str]]:
    docs = [(d.source, d.kind, d.chunks) for d in kb.documents()]
    passages = {d.source: [h.text for h in kb.passages(d.source)] for d in kb.documents()}
    return docs, passages, file_state(kb.runbooks_dir)


@pytest.mark.parametrize("name", UNSAFE_UPLOAD_NAMES)
def test_an_unsafe_upload_name_is_refused(kb: KnowledgeBase, tmp_path: Path, name: str) -> None:
    before = _kb_state(kb)
    with pytest.raises(VigilError) as refused:
        kb.ingest_bytes(name, GOOD)
    assert_one_line(str(refused.value))
    assert _kb_state(kb) == before
    assert not Path("/abs/path.md").exists() and not (tmp_path.parent / "win.md").exists()


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("big.md", b"# Big\n\n" + b"word " * (MAX_UPLOAD_BYTES // 5 + 1), "MiB"),
        ("broken.md", INVALID_UTF8, "UTF-8"),
        ("broken.txt", INVALID_UTF8, "UTF-8"),
        ("broken.html", b"<h1>x</h1><p>\xff\xfe</p>", "UTF-8"),
        ("binary.md", b"# x\n\x00\x01\x02", "binary"),
        ("fake.pdf", b"MZ\x90\x00 an executable", "PDF"),
        ("bomb.pdf", inflating_pdf(1, 100_000_000), "PDF"),
        ("pages.pdf", inflating_pdf(3, MAX_PDF_CONTENT_BYTES // 2), "inflates"),
        ("empty.md", b"  \n", "empty"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "",
)
def test_a_hostile_upload_is_refused(kb: KnowledgeBase, name: str, data: bytes, words: str):
    before = _kb_state(kb)
    with pytest.raises(VigilError, match=words) as refused:
        kb.ingest_bytes(name, data)
    assert_one_line(str(refused.value))
    assert _kb_state(kb) == before


@pytest.mark.parametrize(
    ("data", "words"), RUNBOOK_CASES, ids=["over 5 MiB", "invalid UTF-8", "inflating PDF"]
)
def test_a_hostile_runbook_is_reported_and_keeps_its_passages(
    kb: KnowledgeBase, data: bytes, words: str
) -> None:
    """The runbooks dir is trusted less than it looks: a runbook replaced by something
    unreadable is reported by name and its previous passages stay searchable."""
    path = kb.runbooks_dir / "disk.md"
    good = path.read_bytes()
    before = _kb_state(kb)[:2]
    target = path.with_suffix(".pdf") if words == "inflates" else path
    try:
        path.unlink()
        target.write_bytes(data)
        if target != path:  # the PDF is a new document; disk.md is gone
            path.write_bytes(good)
        report = kb.reindex()
        [error] = report.errors
        assert words in error and target.name in error
        assert_one_line(error)
        assert _kb_state(kb)[:2] == before
    finally:
        target.unlink(missing_ok=True)
        path.write_bytes(good)
        kb.reindex()


# --- the assistant -------------------------------------------------------------------


@pytest.fixture
def chat_store(estate: Seeded) -> Iterator[Store]:
    opened = Store.open(estate.data_dir)
    yield opened
    opened.close()


@pytest.mark.parametrize("request_body", QUESTIONS, ids=QUESTION_IDS)
def test_the_assistant_refuses_a_hostile_question(
    chat_store: Store, estate: Seeded, request_body: dict
) -> None:
    settings = load_settings(data_dir=estate.data_dir, demo_enabled=False, host_enabled=False)
    before = state_of(estate.data_dir, chat_store)
    with pytest.raises(VigilError) as refused:
        ask_request(chat_store, settings, None, request_body)
    assert_one_line(str(refused.value))
    assert state_of(estate.data_dir, chat_store) == before


def test_vigil_ask_refuses_a_1_mb_question(estate: Seeded, monkeypatch: pytest.MonkeyPatch):
    """In process: an argument of 1 MB is past what a Linux exec accepts for one argv
    string (128 KiB), but a caller of the CLI function can still pass it."""
    before = state_of(estate.data_dir)
    result = vigil_in_process(monkeypatch, estate.data_dir, "ask", "why " * 250_000)
    assert_cli_refused(result, "longer than")
    assert state_of(estate.data_dir) == before


def test_engine_ask_refuses_oversized_and_overlong_questions(served: Served) -> None:
    before = served.state()
    status, answer = served.declare_body("POST", "/api/v1/ask", 1_000_000)
    assert status == 413
    assert_http_refused(status, answer)
    assert_http_refused(*served.post_json("/api/v1/ask", {"question": "x" * 60_000}))
    assert served.state() == before
    served.assert_healthy()
