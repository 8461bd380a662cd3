"""Offline by design: indexing and search open no connection beyond loopback, and never
reach for chromadb's default embedding (which downloads an ONNX model)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from knowledge.base import KnowledgeBase
from tests.knowledge.conftest import write
from vigil.settings import Settings


def _loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a Unix socket path
        return True
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


@pytest.fixture
def network_refused(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to reach another host is recorded and refused."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            attempts.append(f"connect {address}")
            raise ConnectionRefusedError(f"offline test: no connection to {address}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            attempts.append(f"connect_ex {address}")
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            attempts.append(f"resolve {host}")
            raise socket.gaierror(f"offline test: no lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.fixture
def no_default_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("chromadb's downloading default embedding was used")

    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "__init__", refuse)
    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "__call__", refuse)


def test_ingest_and_search_stay_on_this_machine(
    network_refused: list[str],
    no_default_embedding: None,
    kb_settings: Settings,
    runbooks: Path,
) -> None:
    write(runbooks, "mysql.md", "# MySQL\n\n## Too many connections\n\nSHOW PROCESSLIST.")
    write(runbooks, "zh/redis.md", "# Redis\n\n## 内存快满\n\n删除大 key。")
    kb = KnowledgeBase.open(kb_settings)
    try:
        kb.reindex()
        kb.ingest_bytes("notes.txt", b"Drain the node first.")
        kb.index_incident(
            "demo-1-1", "Slow queries on mysql-1", "mysql", "index dropped", "recreated the index"
        )
        assert kb.search("too many connections")[0].source == "mysql.md"
        assert kb.search("内存满了")[0].source == "zh/redis.md"
        assert kb.similar_incidents("mysql slow")[0].source == "demo-1-1"
        kb.documents()
    finally:
        kb.close()
    assert network_refused == []


def test_telemetry_is_off(kb: KnowledgeBase) -> None:
    assert kb._client.get_settings().anonymized_telemetry is False
