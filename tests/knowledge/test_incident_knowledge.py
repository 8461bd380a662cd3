"""Past incidents as knowledge: indexed with cause and fix, found by a similar alert."""

from __future__ import annotations

import pandas as pd
import pytest

from knowledge.base import KnowledgeBase
from knowledge.incidents import incident_link
from vigil.errors import VigilError

INCIDENTS = [
    (
        "demo-1-3",
        "Slow queries on mysql-1 cascade to payments, inventory, orders, gateway",
        "mysql",
        "A schema migration dropped an index; queries slowed down.",
        "Recreated the index and killed the long-running queries.",
    ),
    (
        "demo-1-4",
        "Kafka consumer lag up on kafka-2",
        "kafka",
        "A consumer group rebalance left partitions unassigned.",
        "Restarted the stuck consumers and scaled the group out.",
    ),
    (
        "alert-0123456789abcdef-20261201T101500",
        "Memory leak on orders-2",
        "orders",
        "The release leaked connection objects.",
        "Restarted and rolled back the release.",
    ),
]


@pytest.fixture
def with_incidents(kb: KnowledgeBase) -> KnowledgeBase:
    for incident_id, title, service, cause, fix in INCIDENTS:
        kb.index_incident(
            incident_id, title, service, cause, fix, resolved_at=pd.Timestamp("2026-12-01 12:00")
        )
    kb.ingest_bytes("mysql.md", b"# MySQL\n\n## Slow queries\n\nEXPLAIN the slowest query.")
    return kb


def test_a_similar_alert_finds_the_past_incident_with_its_fix(
    with_incidents: KnowledgeBase,
) -> None:
    hits = with_incidents.similar_incidents(
        "MysqlSlowQueries: query p99 on mysql-2 is 8x its baseline, payments timing out"
    )
    top = hits[0]
    assert top.source == "demo-1-3" and top.kind == "incident"
    assert top.extra["cause"].startswith("A schema migration dropped an index")
    assert top.extra["fix"].startswith("Recreated the index")
    assert top.extra["service"] == "mysql"
    assert top.extra["resolved_at"] == "2026-12-01T12:00:00"
    assert top.link == "/search?q=demo-1-3"
    assert all(h.kind == "incident" for h in hits) and len(hits) <= 3


def test_similar_incidents_can_keep_to_one_service(with_incidents: KnowledgeBase) -> None:
    hits = with_incidents.similar_incidents("consumers behind, lag growing", service="kafka")
    assert [h.source for h in hits] == ["demo-1-4"]
    assert with_incidents.similar_incidents("anything", service="redis") == []


def test_an_incident_from_an_alert_links_to_the_alert(with_incidents: KnowledgeBase) -> None:
    hit = with_incidents.similar_incidents("orders memory climbing until restart", k=1)[0]
    assert hit.link == "/alerts?alert=0123456789abcdef-20261201T101500"
    assert incident_link("am-0123456789abcdef-20261201T101500") == (
        "/alerts?alert=am-0123456789abcdef-20261201T101500"
    )
    assert incident_link("user note/1") == "/search?q=user%20note%2F1"


def test_an_incident_title_with_slashes_is_its_section(kb: KnowledgeBase) -> None:
    kb.index_incident("user-7", "5xx on /api/checkout after deploy", "gateway",
                      "bad route", "rolled back")  # fmt: skip
    hit = kb.similar_incidents("checkout 5xx", k=1)[0]
    assert hit.section == "5xx on /api/checkout after deploy"


def test_reindexing_an_incident_replaces_it(with_incidents: KnowledgeBase) -> None:
    with_incidents.index_incident(
        "demo-1-4",
        "Kafka consumer lag up on kafka-2",
        "kafka",
        "A poison message stopped the consumers.",
        "Dead-lettered the message.",
    )
    hits = with_incidents.similar_incidents("kafka consumer lag", k=3)
    kafka = [h for h in hits if h.source == "demo-1-4"]
    assert len(kafka) == 1 and kafka[0].extra["cause"] == "A poison message stopped the consumers."
    assert sum(d.source == "demo-1-4" for d in with_incidents.documents()) == 1


def test_incidents_stay_out_of_runbook_search_and_can_be_deleted(
    with_incidents: KnowledgeBase,
) -> None:
    assert {h.kind for h in with_incidents.search("slow queries index", kind="upload")} == {
        "upload"
    }
    assert with_incidents.delete("demo-1-3") == 1
    assert "demo-1-3" not in {h.source for h in with_incidents.similar_incidents("slow queries")}


def test_an_incident_without_id_or_title_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(VigilError, match="id and a title"):
        kb.index_incident(" ", "title", None, "cause", "fix")
    assert kb.documents() == []
