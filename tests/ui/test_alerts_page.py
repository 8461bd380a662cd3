"""The Alerts page on a real store: the list, and one alert's page (where notifications
link to) with its notifications and every delivery attempt, acknowledging from there."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded
from vigil.store import Store

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def delivered(fresh_estate: Seeded) -> Seeded:
    """The firing checkout alert carried by two notifications: one sent after a retry, one
    dead with its reason."""
    store = Store.open(fresh_estate.data_dir)
    at = fresh_estate.now.to_pydatetime()
    try:
        for nid, status, error in (
            ("g-1", "sent", None),
            ("p-1", "dead", "permanent error: HTTP 403: invalid_token"),
        ):
            store.execute(
                "INSERT INTO notifications (notification_id, alert_id, channel, payload, "
                "status, attempts, created_at, alert_ids, last_error) "
                "VALUES (?, 'latency-critical', ?, '{}', ?, 2, ?, ?, ?)",
                [nid, "slack" if nid == "p-1" else "dingtalk", status, at,
                 json.dumps(["latency-critical"]), error],
            )  # fmt: skip
        attempts = [("g-1", 1, "retry", 503, "HTTP 503"), ("g-1", 2, "sent", 200, ""),
                    ("p-1", 1, "dead", 403, "HTTP 403: invalid_token")]  # fmt: skip
        for nid, n, outcome, code, detail in attempts:
            store.execute(
                "INSERT INTO notification_attempts (notification_id, attempt, started_at, "
                "ended_at, outcome, status_code, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [nid, n, at, at, outcome, code, detail],
            )
    finally:
        store.close()
    return fresh_estate


@pytest.fixture
def open_alerts(open_page) -> Callable[..., AppTest]:
    return lambda data_dir, **query: open_page(data_dir, "pages/alerts.py", **query)


def test_the_list_shows_open_alerts(open_alerts, delivered: Seeded) -> None:
    app = open_alerts(delivered.data_dir)
    assert not app.exception
    shown = app.dataframe[0].value
    assert set(shown["ID"]) == {"latency-critical", "search-pending"}  # firing and pending


def test_an_alerts_page_shows_each_notification_and_attempt(open_alerts, delivered) -> None:
    app = open_alerts(delivered.data_dir, alert="latency-critical")
    assert not app.exception
    assert "**Checkout latency above baseline**" in [m.value for m in app.markdown]
    assert any("Notifications (2)" in m.value for m in app.markdown)
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    [figure] = [c for c in charts if c["layout"]["title"]["text"] == "Delivery attempts"]
    outcomes = {trace["name"] for trace in figure["data"]}
    assert outcomes == {"failed, will retry", "sent", "failed for good"}
    labels = [e.label for e in app.expander]
    assert labels == ["dingtalk · g-1 · sent", "slack · p-1 · dead"]
    assert [e.value for e in app.error] == ["permanent error: HTTP 403: invalid_token"]


def test_acknowledging_from_the_alerts_page_records_it(open_alerts, delivered) -> None:
    app = open_alerts(delivered.data_dir, alert="latency-critical")
    app.text_input(key="alert_comment").set_value("looking")
    app.button(key="alert_acknowledge").click().run()
    assert not app.exception
    from vigil.engine import get_engine

    row = get_engine().store.df(
        "SELECT acknowledged_by, ack_comment FROM alerts WHERE alert_id = 'latency-critical'"
    )
    assert row.values.tolist() == [["tester", "looking"]]


def test_an_unknown_alert_says_so_in_chinese(open_alerts, delivered) -> None:
    app = open_alerts(delivered.data_dir, alert="nope", lang="zh")
    assert not app.exception
    assert [e.value for e in app.error] == ["没有告警 nope。"]


def test_an_alert_received_from_alertmanager_shows_on_the_wall_and_its_page(
    open_alerts,
    delivered: Seeded,
) -> None:
    from tests.vigil.test_intake import am_alert, webhook
    from vigil.intake import parse_webhook, write_alerts

    received = am_alert("KafkaLagHigh", service="stream", instance="kafka-1:9308")
    store = Store.open(delivered.data_dir)
    try:
        body = json.dumps(webhook(received)).encode()
        write_alerts(store, parse_webhook(body, delivered.now.to_pydatetime()).alerts)
        [alert_id] = store.df("SELECT alert_id FROM alerts WHERE source = 'alertmanager'")[
            "alert_id"]  # fmt: skip
    finally:
        store.close()
    wall = open_alerts(delivered.data_dir)
    wall = wall.switch_page("pages/wall.py").run()
    assert not wall.exception
    shown = "\n".join(str(e.value) for kind in ("html", "markdown") for e in wall.get(kind))
    assert "KafkaLagHigh on kafka-1:9308" in shown
    page = open_alerts(delivered.data_dir, alert=alert_id)
    assert not page.exception
    links = [m.value for m in page.markdown if "prometheus.example" in m.value]
    assert links == ["[Where it comes from](http://prometheus.example:9090/graph?g0.expr=disk)"]


def test_the_wall_links_each_alert_to_its_page(open_alerts, delivered: Seeded) -> None:
    wall = open_alerts(delivered.data_dir).switch_page("pages/wall.py").run()
    shown = "\n".join(str(e.value) for e in wall.get("html"))
    assert 'href="alerts?alert=latency-critical&amp;lang=en"' in shown


def test_the_alerts_page_draws_why_it_fired_and_silences_it(open_alerts, delivered) -> None:
    app = open_alerts(delivered.data_dir, alert="latency-critical")
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    evidence = next(c for c in charts if "checkout" in c["layout"]["title"]["text"])
    assert {"value", "normal band"} <= {trace.get("name") for trace in evidence["data"]}
    assert any(s.get("type") == "rect" for s in evidence["layout"].get("shapes", []))
    matchers = app.text_area(key="silence_matchers").value.splitlines()
    assert 'service="checkout"' in matchers  # the labels that say what and where
    app.text_input(key="silence_comment").set_value("deploying a fix")
    app.button(key="FormSubmitter:alert_silence-Silence").click().run()
    assert not app.exception
    assert next(s.value for s in app.success).startswith("Silenced until")
    from vigil.engine import get_engine

    silences = get_engine().store.df("SELECT matchers, created_by, comment FROM silences")
    assert silences[["created_by", "comment"]].values.tolist() == [["tester", "deploying a fix"]]
    assert "checkout" in silences["matchers"].iloc[0]


def test_the_list_filters_by_severity_and_charts_alerts_by_service(open_alerts, delivered) -> None:
    app = open_alerts(delivered.data_dir)
    [chart] = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    bars = {(x, trace["name"]) for trace in chart["data"] for x in trace["x"]}
    assert bars == {("checkout", "critical"), ("search", "warning")}
    app.multiselect(key="alerts_filter_severity").set_value(["critical"]).run()
    assert not app.exception
    assert app.dataframe[0].value["ID"].tolist() == ["latency-critical"]


def test_the_list_narrows_to_a_time_range_and_groups_like_the_dispatcher(
    open_alerts, delivered: Seeded
) -> None:
    app = open_alerts(delivered.data_dir)
    app.multiselect[0].set_value(["firing", "pending", "resolved"]).run()
    assert set(app.dataframe[0].value["ID"]) == {"latency-critical", "search-pending",
                                                 "payments-old"}  # fmt: skip
    app.get("button_group")[0].set_value("1h").run()  # payments-old resolved 70 min ago
    assert not app.exception
    assert set(app.dataframe[0].value["ID"]) == {"latency-critical", "search-pending"}
    app.get("button_group")[0].set_value("all").run()
    app.toggle(key="alerts_grouped").set_value(True).run()
    assert not app.exception
    titles = [e.label for e in app.expander]
    # the default group_by is the service: each seeded alert is its own group,
    # the critical one first and the resolved one last
    assert len(titles) == 3 and titles[0].startswith("service=checkout")
    assert "worst: critical" in titles[0] and "0 open" in titles[-1]
    assert [len(d.value) for d in app.dataframe] == [1, 1, 1]


def test_a_note_on_the_alert_page_is_listed_on_the_next_similar_alert(
    open_alerts, delivered: Seeded
) -> None:
    from vigil.engine import get_engine

    app = open_alerts(delivered.data_dir, alert="payments-old")
    assert not app.exception
    assert any("No past incident like this one" in c.value for c in app.caption)
    assert any("assistant?alert=payments-old" in m.value for m in app.markdown)
    app.text_area(key="note_cause").set_value("payments database disk filled up")
    app.text_area(key="note_fix").set_value("rotated the binlogs and grew the volume")
    app = app.button(key="FormSubmitter:alert_note-Save the note").click().run()
    assert not app.exception
    assert "alert-payments-old" in app.success[0].value
    row = get_engine().store.df("SELECT cause, fix FROM incidents WHERE origin = 'user'")
    assert row.values.tolist() == [["payments database disk filled up",
                                    "rotated the binlogs and grew the volume"]]  # fmt: skip
    other = open_alerts(delivered.data_dir, alert="latency-critical")
    assert not other.exception
    shown = "\n".join(m.value for m in other.markdown)
    assert "rotated the binlogs and grew the volume" in shown
    assert "#### Likely causes" in shown
