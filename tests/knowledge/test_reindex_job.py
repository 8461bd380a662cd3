"""The reindex job: runbooks and resolved incidents into the knowledge base, recorded as
runs of ``reindex``, at scheduler start and then on its interval; and Engine.knowledge."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from jobs.reindex import index_incidents, reindex_knowledge, reindex_runbooks
from jobs.scheduler import REINDEX_INTERVAL_SECONDS, RUN_AT_START, build_scheduler
from knowledge.base import KnowledgeBase
from tests.knowledge.conftest import write
from vigil.engine import Engine
from vigil.settings import Settings, load_settings
from vigil.store import Store


def _incident(store: Store, incident_id: str, cause: str | None, ended: bool = True) -> None:
    store.execute(
        "INSERT INTO incidents (incident_id, origin, kind, title, service, series_keys, "
        "affected_services, started_at, ended_at, cause, fix) "
        "VALUES (?, 'demo', 'leak', ?, 'orders', '[]', '[]', ?, ?, ?, ?)",
        [
            incident_id,
            f"Memory leak on orders-1 ({incident_id})",
            pd.Timestamp("2026-11-30 10:00").to_pydatetime(),
            pd.Timestamp("2026-11-30 12:00").to_pydatetime() if ended else None,
            cause,
            "Restarted the instance and rolled back." if cause else None,
        ],
    )


def test_the_job_indexes_runbooks_and_counts_what_changed(
    kb: KnowledgeBase, kb_settings: Settings, runbooks: Path
) -> None:
    write(runbooks, "redis.md", "# Redis\n\n## Memory\n\nBig keys.\n\n## Slow\n\nKEYS.")
    assert reindex_runbooks(kb, kb_settings) == 2
    assert reindex_runbooks(kb, kb_settings) == 0
    (runbooks / "redis.md").unlink()
    assert reindex_runbooks(kb, kb_settings) == 2  # both chunks removed
    assert kb.documents() == []


def test_without_a_runbooks_directory_the_job_does_nothing(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path / "other", runbooks_dir=tmp_path / "absent")
    assert reindex_runbooks(kb, settings) == 0


def test_resolved_incidents_with_a_cause_become_knowledge(kb: KnowledgeBase, store: Store) -> None:
    _incident(store, "demo-1-7", "The release leaked connection objects.")
    _incident(store, "demo-1-8", None)  # nothing learnt: not knowledge
    _incident(store, "demo-1-9", "Still open.", ended=False)
    assert index_incidents(kb, store) == 1
    hit = kb.similar_incidents("orders memory keeps climbing", k=1)[0]
    assert hit.source == "demo-1-7" and hit.extra["fix"].startswith("Restarted")
    assert hit.extra["resolved_at"] == "2026-11-30T12:00:00"


def test_the_scheduler_runs_reindex_at_start_and_records_it(
    kb: KnowledgeBase, kb_settings: Settings, runbooks: Path, store: Store
) -> None:
    assert RUN_AT_START["reindex"] < 30 and REINDEX_INTERVAL_SECONDS == 600
    write(runbooks, "kafka.md", "# Kafka\n\n## Lag\n\nScale the consumers.")
    scheduler = build_scheduler(
        store,
        {"reindex": (REINDEX_INTERVAL_SECONDS, lambda: reindex_knowledge(kb, kb_settings, store))},
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + RUN_AT_START["reindex"] + 20
        runs = pd.DataFrame()
        while time.monotonic() < deadline:
            runs = store.df("SELECT status, rows FROM job_runs WHERE job = 'reindex'")
            if len(runs) and (runs["status"] != "running").all():
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert runs.to_dict("records") == [{"status": "ok", "rows": 1}]
    assert kb.search("consumer lag")[0].source == "kafka.md"


def test_the_engine_opens_its_knowledge_base_on_first_use_and_closes_it(
    tmp_path: Path, runbooks: Path
) -> None:
    write(runbooks, "mysql.md", "# MySQL\n\n## Connections\n\nSHOW PROCESSLIST.")
    settings = load_settings(
        data_dir=tmp_path / "engine",
        runbooks_dir=runbooks,
        demo_enabled=False,
        host_enabled=False,
        scheduler_enabled=False,
        http_port=0,
    )
    engine = Engine(settings)
    try:
        assert engine._knowledge is None
        assert engine.knowledge is engine.knowledge
        assert engine.reindex_knowledge() == 1
        assert engine.knowledge.search("processlist")[0].source == "mysql.md"
    finally:
        engine.stop()
    assert engine._knowledge is None
    assert (settings.chroma_dir).is_dir()
