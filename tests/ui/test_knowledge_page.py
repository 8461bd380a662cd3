"""The Knowledge page on a real store and Chroma dir: reindex with progress, the library
chart, search, a document opened at the section a citation links to, and uploads and
deletions recorded in the audit log."""

from __future__ import annotations

import json

import pytest

from tests.ui.conftest import Seeded
from vigil.errors import VigilError

RUNBOOK = """# Checkout runbook

## Checkout slow

**Check:** the orders service p99 latency; the payments and inventory calls.

**Fix:** roll back the last orders deploy if latency rose with it.

## Checkout errors

**Check:** HTTP 5xx from gateway; the orders error ratio.
"""
ZH_RUNBOOK = "# 数据库手册\n\n## 连接数过多\n\n检查连接池配置，杀掉空闲会话。\n"


@pytest.fixture
def with_runbooks(fresh_estate: Seeded) -> Seeded:
    books = fresh_estate.data_dir / "runbooks"
    (books / "zh").mkdir(parents=True)
    (books / "checkout.md").write_text(RUNBOOK)
    (books / "zh" / "mysql.md").write_text(ZH_RUNBOOK)
    return fresh_estate


def test_reindex_fills_the_library_chart_and_search_finds_the_section(
    open_page, with_runbooks: Seeded
) -> None:
    app = open_page(with_runbooks.data_dir, "pages/knowledge.py")
    assert not app.exception
    assert "empty" in app.info[0].value
    [reindex] = [b for b in app.button if b.label == "Reindex runbooks"]
    app = reindex.click().run()
    assert not app.exception
    assert "2 changed, 0 unchanged, 0 removed" in app.success[0].value
    [chart] = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    bars = {y: x for trace in chart["data"] for y, x in zip(trace["y"], trace["x"], strict=True)}
    assert set(bars) == {"checkout.md", "zh/mysql.md"} and bars["checkout.md"] >= 2
    app.text_input(key="knowledge_box").set_value("checkout is slow").run()
    assert not app.exception
    links = [m.value for m in app.markdown if "knowledge?doc=" in m.value]
    assert links and "checkout.md" in links[0] and "#checkout-slow" in links[0]
    app.text_input(key="knowledge_box").set_value("连接数").run()
    assert any("zh%2Fmysql.md" in m.value for m in app.markdown)


def test_a_citation_link_opens_the_document_at_its_sections(
    open_page, with_runbooks: Seeded
) -> None:
    from vigil.engine import get_engine

    open_page(with_runbooks.data_dir, "pages/knowledge.py")
    get_engine().knowledge.reindex()
    app = open_page(with_runbooks.data_dir, "pages/knowledge.py", doc="checkout.md")
    assert not app.exception
    assert [h.value for h in app.subheader][1:] == ["Checkout slow", "Checkout errors"]
    assert any("roll back the last orders deploy" in m.value for m in app.markdown)
    missing = open_page(with_runbooks.data_dir, "pages/knowledge.py", doc="../etc/passwd")
    assert "no document ../etc/passwd" in missing.error[0].value


def test_uploads_and_deletions_are_audited_and_bad_uploads_change_nothing(
    open_page, with_runbooks: Seeded
) -> None:
    from vigil.engine import get_engine
    from vigil.knowledge_actions import delete_document, upload_document

    open_page(with_runbooks.data_dir, "pages/knowledge.py")
    engine = get_engine()
    report = upload_document(engine.knowledge, engine.store, "ada", "notes.md",
                             b"# Notes\n\n## Redis evictions\n\nRaise maxmemory.\n")  # fmt: skip
    assert report.chunks_embedded == 1
    with pytest.raises(VigilError):
        upload_document(engine.knowledge, engine.store, "ada", "../evil.md", b"# x\n\ny\n")
    with pytest.raises(VigilError):
        upload_document(engine.knowledge, engine.store, "ada", "bad.md", b"\xff\xfe\x00oops")
    assert delete_document(engine.knowledge, engine.store, "ada", "notes.md") == 1
    assert delete_document(engine.knowledge, engine.store, "ada", "notes.md") == 0
    audit = engine.store.df("SELECT actor, action, target FROM audit_log ORDER BY ts")
    assert audit.values.tolist() == [["ada", "knowledge.upload", "notes.md"],
                                     ["ada", "knowledge.delete", "notes.md"]]  # fmt: skip
    assert [d.source for d in engine.knowledge.documents()] == []
