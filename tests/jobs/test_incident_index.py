"""Noted incidents reach the knowledge base, and the next similar alert finds them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jobs.reindex import index_incidents
from knowledge.base import KnowledgeBase
from tests.ui.conftest import make_seeded
from vigil.incident_notes import record_incident
from vigil.settings import load_settings
from vigil.store import Store


def test_a_noted_alert_is_found_as_a_similar_incident_once(tmp_path: Path) -> None:
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    settings = load_settings(data_dir=seeded.data_dir, runbooks_dir=tmp_path / "none")
    store = Store.open(seeded.data_dir)
    knowledge = KnowledgeBase.open(settings)
    try:
        assert index_incidents(knowledge, store) == 0  # the seeded incident has no note
        record_incident(store, "latency-critical", "ada",
                        "connection pool exhausted after the deploy",
                        "raised the pool size to 50 and restarted checkout")  # fmt: skip
        record_incident(store, "payments-old", "ada", "disk full on the payments db host",
                        "rotated the logs")  # fmt: skip
        assert index_incidents(knowledge, store) == 2
        assert index_incidents(knowledge, store) == 2  # again: nothing duplicated
        hits = knowledge.similar_incidents("Checkout latency above baseline", k=3)
        documents = [(d.kind, d.source) for d in knowledge.documents()]
    finally:
        knowledge.close()
        store.close()
    assert hits[0].source == "alert-latency-critical"
    assert hits[0].extra["fix"] == "raised the pool size to 50 and restarted checkout"
    # seeded ids are not evaluator ids, so the link searches for the incident
    assert hits[0].link == "/search?q=alert-latency-critical"
    assert len({h.source for h in hits}) == len(hits)
    assert documents == [("incident", "alert-latency-critical"), ("incident", "alert-payments-old")]
