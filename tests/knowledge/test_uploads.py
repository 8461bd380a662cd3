"""Uploads: what is accepted, and that a refused upload changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.uploads import MAX_UPLOAD_BYTES
from tests.knowledge.conftest import tiny_pdf, write
from vigil.errors import VigilError


def _state(kb: KnowledgeBase) -> list[tuple[str, str, int]]:
    return [(d.source, d.kind, d.chunks) for d in kb.documents()]


def test_an_upload_is_indexed_as_kind_upload(kb: KnowledgeBase) -> None:
    report = kb.ingest_bytes(
        "Payments Playbook (v2).md",
        b"# Payments\n\n## Provider down\n\nSwitch to the secondary provider.",
    )
    assert report.indexed == ("Payments Playbook (v2).md",)
    hit = kb.search("payment provider is down", k=1)[0]
    assert (hit.kind, hit.section) == ("upload", "Payments > Provider down")
    assert hit.link == "/knowledge?doc=Payments%20Playbook%20%28v2%29.md#provider-down"


def test_a_pdf_upload_is_indexed_by_page(kb: KnowledgeBase) -> None:
    kb.ingest_bytes("broker-guide.pdf", tiny_pdf([["Intro"], ["Restart the Kafka broker"]]))
    hit = kb.search("restart kafka broker", k=1)[0]
    assert (hit.source, hit.section, hit.link) == (
        "broker-guide.pdf",
        "broker-guide > p. 2",
        "/knowledge?doc=broker-guide.pdf#page-2",
    )


def test_an_html_upload_is_indexed_by_heading(kb: KnowledgeBase) -> None:
    kb.ingest_bytes(
        "cache.htm", "<h1>缓存</h1><h2>内存快满</h2><p>删除大 key，设置过期时间。</p>".encode()
    )
    hit = kb.search("缓存内存满了", k=1)[0]
    assert (hit.section, hit.language) == ("缓存 > 内存快满", "zh")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("big.md", b"# Big\n\n" + b"x" * MAX_UPLOAD_BYTES, "at most 5 MiB"),
        ("tool.exe", b"MZ\x90\x00", "unsupported file type"),
        ("noext", b"# hello", "unsupported file type"),
        ("fake.pdf", b"#!/bin/sh\nrm -rf /", "does not start like a PDF"),
        ("latin1.md", "Café runbook".encode("latin-1"), "not UTF-8"),
        ("binary.txt", b"abc\x00\x01\x02", "looks binary"),
        ("empty.md", b"  \n", "empty"),
        ("../../etc/passwd.md", b"# x\n\ny", "not a plain file name"),
        ("runbooks/evil.md", b"# x\n\ny", "not a plain file name"),
        ("..\\evil.md", b"# x\n\ny", "not a plain file name"),
        (".hidden.md", b"# x\n\ny", "not a plain file name"),
        ("bad<script>.md", b"# x\n\ny", "characters Vigil does not accept"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    kb: KnowledgeBase, runbooks: Path, name: str, data: bytes, message: str
) -> None:
    write(runbooks, "redis.md", "# Redis\n\n## Memory\n\nBig keys.")
    kb.reindex()
    before = _state(kb)
    with pytest.raises(VigilError, match=message):
        kb.ingest_bytes(name, data)
    assert _state(kb) == before
    assert not any(p.name != "redis.md" for p in runbooks.rglob("*") if p.is_file())


def test_an_upload_cannot_take_a_runbooks_name(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", "# Redis\n\n## Memory\n\nBig keys.")
    kb.reindex()
    with pytest.raises(VigilError, match="already a runbook"):
        kb.ingest_bytes("redis.md", b"# Mine\n\nreplaced")
    assert "Big keys." in kb.search("redis memory big keys", k=1)[0].text


def test_a_file_outside_the_runbooks_is_ingested_as_an_upload(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = write(tmp_path / "elsewhere", "notes.txt", "Drain the node before the kernel upgrade.")
    assert kb.ingest_path(path).indexed == ("notes.txt",)
    assert [(d.source, d.kind) for d in kb.documents()] == [("notes.txt", "upload")]
    with pytest.raises(VigilError, match="not a file"):
        kb.ingest_path(tmp_path / "missing.md")
