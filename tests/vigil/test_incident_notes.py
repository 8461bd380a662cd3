"""Resolving an alert with a note keeps its cause and fix as a past incident."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_vigil, serving_engine
from tests.sources.promserver import free_port
from tests.ui.conftest import Seeded, make_seeded
from vigil.errors import VigilError
from vigil.incident_notes import incidents_with_notes, record_incident
from vigil.store import Store


@pytest.fixture
def estate(tmp_path: Path) -> Seeded:
    return make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))


def _incidents(store: Store) -> pd.DataFrame:
    return store.df("SELECT * FROM incidents WHERE origin = 'user' ORDER BY incident_id")


def test_a_note_resolves_the_alert_and_becomes_an_incident(estate: Seeded) -> None:
    store = Store.open(estate.data_dir)
    try:
        incident_id = record_incident(store, "latency-critical", "ada", "pool exhausted",
                                      "raised the pool size", "found it")  # fmt: skip
        state, by = store.df("SELECT state, resolved_by FROM alerts "
                             "WHERE alert_id = 'latency-critical'").iloc[0]  # fmt: skip
        row = _incidents(store).iloc[0]
        notes = incidents_with_notes(store)
    finally:
        store.close()
    assert (state, by) == ("resolved", "ada")
    assert incident_id == row["incident_id"] == "alert-latency-critical"
    assert (row["cause"], row["fix"], row["recorded_by"]) == (
        "pool exhausted", "raised the pool size", "ada")  # fmt: skip
    assert row["title"] == "Checkout latency above baseline" and row["service"] == "checkout"
    assert json.loads(row["series_keys"]) == [
        'http_latency_seconds{instance="web-1",service="checkout"}'
    ]
    assert row["ended_at"] is not None
    assert [n.incident_id for n in notes] == ["alert-latency-critical"]
    assert notes[0].fix == "raised the pool size" and notes[0].alert_id == "latency-critical"


def test_a_second_note_on_a_resolved_alert_replaces_the_first(estate: Seeded) -> None:
    store = Store.open(estate.data_dir)
    try:
        record_incident(store, "payments-old", "ada", "disk full", "")
        record_incident(store, "payments-old", "bob", "disk full on db-1", "rotated logs")
        rows = _incidents(store)
        events = store.one("SELECT count(*) FROM alert_events WHERE alert_id = 'payments-old'")
    finally:
        store.close()
    assert rows[["cause", "fix", "recorded_by"]].values.tolist() == [
        ["disk full on db-1", "rotated logs", "bob"]]  # fmt: skip
    assert events == 0  # it had resolved on its own: no new transition


@pytest.mark.parametrize(
    ("alert_id", "who", "cause", "fix", "message"),
    [
        ("nope", "ada", "c", "f", "no alert 'nope'"),
        ("latency-critical", " ", "c", "f", "say who you are"),
        ("latency-critical", "ada", " ", "", "needs the cause, the fix or both"),
        ("latency-critical", "ada", "x" * 5000, "", "longer than 4000"),
    ],
)
def test_a_bad_note_is_refused_and_changes_nothing(
    estate: Seeded, alert_id: str, who: str, cause: str, fix: str, message: str
) -> None:
    store = Store.open(estate.data_dir)
    try:
        with pytest.raises(VigilError, match=message):
            record_incident(store, alert_id, who, cause, fix)
        state = store.one("SELECT state FROM alerts WHERE alert_id = 'latency-critical'")
        assert _incidents(store).empty and state == "firing"
    finally:
        store.close()


def test_the_command_records_a_note_directly_and_through_the_engine(estate: Seeded) -> None:
    done = run_vigil(estate.data_dir, "alerts", "resolve", "search-pending", "--cause",
                     "index rebuild", "--fix", "waited", "--author", "cy")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "noted as incident alert-search-pending" in done.stdout
    port = free_port()
    with serving_engine(estate.data_dir, port):
        remote = run_vigil(estate.data_dir, "alerts", "resolve", "latency-critical",
                           "--fix", "restarted", "--author", "dee", port=port)  # fmt: skip
        assert remote.returncode == 0, remote.stderr
        empty = run_vigil(estate.data_dir, "alerts", "resolve", "payments-old", "--cause",
                          " ", "--fix", "", port=port)  # fmt: skip
        assert empty.returncode == 2 and "is resolved" in empty.stderr
    store = Store.open(estate.data_dir)
    try:
        rows = _incidents(store)[["incident_id", "cause", "fix", "recorded_by"]]
    finally:
        store.close()
    assert rows.values.tolist() == [
        ["alert-latency-critical", "", "restarted", "dee"],
        ["alert-search-pending", "index rebuild", "waited", "cy"],
    ]


def test_demo_incidents_carry_their_note_only_once_over() -> None:
    from vigil.sources.demo_source import DemoSource

    source = DemoSource(seed=1)
    day = pd.Timestamp("2026-11-20")
    [first, *_] = source.estate.incidents(day, day + pd.Timedelta(days=1))
    during = source.pull(first.start - pd.Timedelta(hours=1), first.start + pd.Timedelta(minutes=5))
    after = source.pull(first.start - pd.Timedelta(hours=1), first.end + pd.Timedelta(minutes=5))
    [ongoing] = [i for i in during.incidents if i.incident_id == first.incident_id]
    [over] = [i for i in after.incidents if i.incident_id == first.incident_id]
    assert (ongoing.cause, ongoing.fix) == ("", "")
    assert over.cause == first.cause and over.fix == first.fix and len(over.fix) > 10
