"""The knowledge base on a real Chroma directory: dedup, update, delete, reindex, search."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.records import KnowledgeHit
from tests.knowledge.conftest import CountingEmbedding, write
from vigil.settings import Settings

REDIS = """# Redis runbook

## RedisOutOfMemory

**Check:** `INFO memory`; big keys with `redis-cli --bigkeys`.

**Fix:** delete or split big keys; set a TTL on cache keys.

## RedisSlowCommands

**Check:** `SLOWLOG GET 20` for KEYS and huge HGETALL.

**Fix:** replace KEYS with SCAN in the client.
"""
KAFKA = """# Kafka runbook

## KafkaConsumerLag

Consumers fall behind the producers; check the group's partition assignment.
"""
ZH = """# MySQL 运维手册

## 连接数过多

已用连接超过 max_connections 的 80%，新连接会被拒绝。先用 SHOW PROCESSLIST 按来源主机分组。
"""


def _sections(hits: list[KnowledgeHit]) -> list[str]:
    return [h.section for h in hits]


def test_search_finds_the_section_and_links_into_the_app(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    write(runbooks, "kafka.md", KAFKA)
    kb.reindex()
    hits = kb.search("someone ran KEYS on the cache and everything is slow", k=3)
    top = hits[0]
    assert top.section == "Redis runbook > RedisSlowCommands"
    assert top.source == "redis.md" and top.kind == "runbook" and top.language == "en"
    assert top.link == "/knowledge?doc=redis.md#redisslowcommands"
    assert "SCAN" in top.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_filters_by_kind_and_language(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    write(runbooks, "zh/mysql.md", ZH)
    kb.reindex()
    kb.ingest_bytes("notes.txt", b"Connection pool notes: keep pools below max_connections.")
    zh = kb.search("连接被拒绝了", k=5, language="zh")
    assert zh and {h.language for h in zh} == {"zh"}
    assert (
        zh[0].link == "/knowledge?doc=zh%2Fmysql.md#%E8%BF%9E%E6%8E%A5%E6%95%B0%E8%BF%87%E5%A4%9A"
    )
    uploads = kb.search("max_connections", k=5, kind="upload")
    assert [h.source for h in uploads] == ["notes.txt"]
    assert kb.search("   ") == [] and kb.search("redis", k=0) == []
    assert kb.search("redis", kind="incident") == []


def test_reingesting_an_unchanged_document_embeds_nothing(
    kb: KnowledgeBase, runbooks: Path, embedding: CountingEmbedding
) -> None:
    path = write(runbooks, "redis.md", REDIS)
    first = kb.ingest_path(path)
    assert first.indexed == ("redis.md",) and first.chunks_embedded == 2
    embedded = len(embedding.embedded)
    again = kb.ingest_path(path)
    assert again.unchanged == ("redis.md",) and again.chunks_embedded == 0
    assert len(embedding.embedded) == embedded  # nothing embedded, not even re-chunked


def test_a_changed_document_replaces_its_chunks_and_reuses_unchanged_ones(
    kb: KnowledgeBase, runbooks: Path, embedding: CountingEmbedding
) -> None:
    path = write(runbooks, "redis.md", REDIS)
    kb.ingest_path(path)
    embedding.embedded.clear()
    path.write_text(
        REDIS.replace("replace KEYS with SCAN in the client", "ban KEYS with rename-command"),
        encoding="utf-8",
    )
    report = kb.ingest_path(path)
    assert (report.chunks_embedded, report.chunks_kept, report.chunks_removed) == (1, 1, 1)
    assert len(embedding.embedded) == 1 and "rename-command" in embedding.embedded[0]
    texts = " ".join(h.text for h in kb.search("KEYS SCAN rename-command", k=10))
    assert "rename-command" in texts and "replace KEYS with SCAN" not in texts
    assert [d.chunks for d in kb.documents()] == [2]


def test_a_documents_chunks_come_back_in_reading_order(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    kb.reindex()
    passages = kb.passages("redis.md")
    assert [p.section for p in passages] == [
        "Redis runbook > RedisOutOfMemory",
        "Redis runbook > RedisSlowCommands",
    ]
    assert passages[1].link == "/knowledge?doc=redis.md#redisslowcommands"
    assert kb.passages("nothing.md") == []


def test_delete_removes_a_document_and_only_it(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    write(runbooks, "kafka.md", KAFKA)
    kb.reindex()
    assert kb.delete("redis.md") == 2
    assert kb.delete("redis.md") == 0 and kb.delete("nothing.md") == 0
    assert {h.source for h in kb.search("redis keys memory consumers", k=10)} == {"kafka.md"}
    assert [d.source for d in kb.documents()] == ["kafka.md"]


def test_reindex_adds_changes_and_removes_files(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    write(runbooks, "kafka.md", KAFKA)
    write(runbooks, ".drafts/secret.md", "# Draft\n\nnot ready")
    write(runbooks, "image.png", "not a runbook")
    seen: list[tuple[int, int]] = []
    first = kb.reindex(progress=lambda done, total: seen.append((done, total)))
    assert sorted(first.indexed) == ["kafka.md", "redis.md"] and seen == [(1, 2), (2, 2)]

    (runbooks / "kafka.md").unlink()
    write(runbooks, "redis.md", REDIS + "\n## RedisDown\n\nRestart redis-server.\n")
    write(runbooks, "zh/mysql.md", ZH)
    second = kb.reindex()
    assert sorted(second.indexed) == ["redis.md", "zh/mysql.md"]
    assert second.removed == ("kafka.md",) and second.chunks_removed == 1
    assert second.chunks_embedded == 2  # the new Redis section and the Chinese one
    assert {(d.source, d.language) for d in kb.documents()} == {
        ("redis.md", "en"),
        ("zh/mysql.md", "zh"),
    }
    third = kb.reindex()
    assert third.indexed == () and sorted(third.unchanged) == ["redis.md", "zh/mysql.md"]


def test_an_unreadable_file_is_reported_and_the_others_indexed(
    kb: KnowledgeBase, runbooks: Path
) -> None:
    write(runbooks, "redis.md", REDIS)
    (runbooks / "broken.md").write_bytes(b"\xff\xfe not utf-8 \xc3")
    report = kb.reindex()
    assert report.indexed == ("redis.md",)
    assert len(report.errors) == 1 and "broken.md" in report.errors[0]


def test_the_index_survives_a_reopen(kb_settings: Settings, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    first = KnowledgeBase.open(kb_settings)
    first.reindex()
    first.close()
    reopened = KnowledgeBase.open(kb_settings)
    try:
        assert reopened.reindex().unchanged == ("redis.md",)
        assert reopened.search("big keys memory")[0].section == "Redis runbook > RedisOutOfMemory"
    finally:
        reopened.close()


def test_threads_may_search_while_another_ingests(kb: KnowledgeBase, runbooks: Path) -> None:
    write(runbooks, "redis.md", REDIS)
    kb.reindex()
    failures: list[BaseException] = []

    def searching() -> None:
        try:
            for _ in range(20):
                assert kb.search("redis memory", k=3)
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=searching) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(10):
        kb.ingest_bytes(f"note-{i}.md", f"# Note {i}\n\nredis memory note {i}".encode())
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(kb.documents()) == 11


def test_a_missing_runbooks_directory_is_a_clear_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        kb.reindex(tmp_path / "nowhere")


def test_searches_between_writes_see_what_a_fresh_open_sees(
    kb: KnowledgeBase, kb_settings: Settings, runbooks: Path
) -> None:
    write(runbooks, "redis.md", REDIS)
    write(runbooks, "kafka.md", KAFKA)
    kb.reindex()
    assert kb.search("redis keys")  # the snapshot exists from here on; writes patch it
    write(runbooks, "redis.md", REDIS.replace("big keys", "oversized hashes"))
    (runbooks / "kafka.md").unlink()
    kb.reindex()
    kb.ingest_bytes("notes.md", b"# Notes\n\n## Hashes\n\noversized hashes again")
    kb.index_incident("demo-1-2", "Redis slow", "redis", "KEYS on a big keyspace", "SCAN")
    kb.delete("notes.md")
    patched = kb.search("oversized hashes keys", k=10)
    fresh = KnowledgeBase.open(kb_settings, CountingEmbedding())
    try:
        reread = fresh.search("oversized hashes keys", k=10)
        assert [(h.chunk_id, h.text, h.section) for h in patched] == [
            (h.chunk_id, h.text, h.section) for h in reread
        ]
        assert kb.documents() == fresh.documents()
        assert kb.passages("redis.md") == fresh.passages("redis.md")
    finally:
        fresh.close()
