"""Documents become chunks that follow their structure, in both languages and four formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.chunking import CHUNK_CHARS, chunk_document, chunk_markdown
from knowledge.text import detect_language, slugify, tokenize
from tests.knowledge.conftest import tiny_pdf
from vigil.errors import VigilError

RUNBOOK = """# MySQL runbook

Alerts of the mysql rule pack.

## MysqlTooManyConnections

**Check:** `SHOW PROCESSLIST` grouped by user and host.

### Pool sizing

Keep the sum of all pools below max_connections.

## MysqlDown

**Fix:** restart MySQL once the cause is known.
"""


def test_markdown_chunks_carry_their_heading_path_and_anchor() -> None:
    chunks = chunk_markdown(RUNBOOK, "mysql.md")
    by_section = {c.section: c for c in chunks}
    assert set(by_section) == {
        "MySQL runbook",
        "MySQL runbook > MysqlTooManyConnections",
        "MySQL runbook > MysqlTooManyConnections > Pool sizing",
        "MySQL runbook > MysqlDown",
    }
    pool = by_section["MySQL runbook > MysqlTooManyConnections > Pool sizing"]
    assert pool.anchor == "pool-sizing" and "max_connections" in pool.text
    assert by_section["MySQL runbook > MysqlDown"].anchor == "mysqldown"
    assert all(c.source == "mysql.md" and c.language == "en" for c in chunks)
    assert len({c.content_hash for c in chunks}) == len(chunks)


def test_a_long_section_is_split_into_readable_chunks_of_the_same_section() -> None:
    paragraphs = "\n\n".join(
        f"Step {i}: restart consumer {i} and watch the lag drain." * 4 for i in range(60)
    )
    chunks = chunk_markdown(f"# Kafka\n\n## Lag\n\n{paragraphs}\n", "kafka.md")
    assert len(chunks) > 5
    assert all(len(c.text) <= CHUNK_CHARS for c in chunks)
    assert {c.section for c in chunks} == {"Kafka > Lag"}
    assert "Step 59" in chunks[-1].text


def test_chinese_text_splits_at_sentence_ends() -> None:
    sentence = "先确认是不是只有这一台实例异常，再对比同服务的其他实例。"
    text = "# 手册\n\n## 单实例 CPU 飙高\n\n" + sentence * 80
    chunks = chunk_markdown(text, "zh/spike.md")
    assert len(chunks) > 2
    assert all(c.language == "zh" for c in chunks)
    assert all(c.text.endswith("。") for c in chunks[:-1])
    assert chunks[0].anchor == "单实例-cpu-飙高"


def test_language_is_chinese_when_chinese_dominates_despite_commands() -> None:
    assert detect_language("用 `SHOW PROCESSLIST` 查看哪个客户端占用的连接最多") == "zh"
    assert detect_language("Run SHOW PROCESSLIST; 注意") == "en"
    assert detect_language("") == "en"


def test_tokens_split_rule_names_and_chinese_bigrams() -> None:
    tokens = tokenize("MysqlTooManyConnections 连接数")
    assert {"mysql", "connect", "连接", "接数"} <= set(tokens)
    assert slugify("Gateway error ratio high") == "gateway-error-ratio-high"


def test_html_headings_become_sections() -> None:
    html = (
        b"<html><head><style>h1{}</style><script>alert(1)</script></head><body>"
        b"<h1>Redis guide</h1><p>Intro.</p><h2>Slow commands</h2>"
        b"<p>Run <code>SLOWLOG GET</code>.</p><ul><li>Replace KEYS with SCAN</li></ul>"
        b"</body></html>"
    )
    chunks = chunk_document("redis.html", html)
    slow = next(c for c in chunks if c.section == "Redis guide > Slow commands")
    assert "SLOWLOG GET" in slow.text and "Replace KEYS with SCAN" in slow.text
    assert slow.anchor == "slow-commands"
    assert not any("alert(1)" in c.text or "h1{}" in c.text for c in chunks)


def test_pdf_pages_become_sections() -> None:
    data = tiny_pdf([["Broker left the cluster", "Check the disk"], ["Restart the broker"]])
    chunks = chunk_document("kafka-guide.pdf", data)
    assert [(c.section, c.anchor) for c in chunks] == [
        ("kafka-guide > p. 1", "page-1"),
        ("kafka-guide > p. 2", "page-2"),
    ]
    assert "Check the disk" in chunks[0].text and "Restart the broker" in chunks[1].text


def test_plain_text_is_one_section_named_after_the_file() -> None:
    chunks = chunk_document("notes/on-call.txt", b"Rotate the logs, then restart.")
    assert [(c.section, c.anchor) for c in chunks] == [("on-call", "on-call")]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("tool.exe", b"MZ", "unsupported file type"),
        ("notes.md", b"\xff\xfe\x00broken", "not UTF-8"),
        ("blank.md", b"   \n\n", "no text"),
        ("broken.pdf", b"%PDF-1.4 nothing else", "PDF"),
    ],
)
def test_unreadable_documents_are_refused_clearly(name: str, data: bytes, message: str) -> None:
    with pytest.raises(VigilError, match=message):
        chunk_document(name, data)


_WORDS = st.sampled_from(["restart", "the", "broker", "lag", "连接", "数据库", "慢查询", "SHOW",
                          "PROCESSLIST", "内存", "check", "磁盘", "。", "，", "."])  # fmt: skip
_PARAGRAPH = st.lists(_WORDS, min_size=1, max_size=120).map(" ".join)
_SECTION = st.tuples(st.sampled_from(["Redis", "磁盘满了", "Kafka lag", "MySQL"]),
                     st.lists(_PARAGRAPH, min_size=1, max_size=4))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(_SECTION, min_size=1, max_size=5))
def test_chunks_keep_every_word_within_the_size_limit(sections: list) -> None:
    text = "# Runbook\n\n" + "\n\n".join(
        f"## {title}\n\n" + "\n\n".join(paragraphs) for title, paragraphs in sections
    )
    chunks = chunk_markdown(text, "runbook.md")
    assert all(0 < len(c.text) <= CHUNK_CHARS for c in chunks)
    assert all(c.section.startswith("Runbook > ") for c in chunks)
    body = " ".join(c.text for c in chunks)
    for _, paragraphs in sections:
        for word in " ".join(paragraphs).split():
            assert word in body
    assert chunk_markdown(text, "runbook.md") == chunks  # deterministic
