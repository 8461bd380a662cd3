"""The Search page on a real store: a word from an alert's summary links to that alert,
filters narrow the hits, ``?q=`` fills the box, Chinese UI, and a bad query is an error
on the page rather than an exception; series links open Explore on their metric."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded, app_env, signed_in
from vigil.store import Store

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    def factory(data_dir: Path, page: str = "search", **query: str) -> AppTest:
        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=60))
        app.query_params.update(query)
        app.run()
        app = app.switch_page(f"pages/{page}.py")
        app.query_params.update(query)
        return app.run()

    yield factory


def _search(app: AppTest, text: str) -> AppTest:
    app.text_input(key="search_box").set_value(text).run()
    assert not app.exception
    return app


def _links(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if "](" in m.value]


def test_a_word_from_an_alerts_summary_links_to_that_alert(open_page, fresh_estate: Seeded):
    app = _search(open_page(fresh_estate.data_dir), "baseline")
    assert _links(app) == ["[rule-latency-critical](alerts?alert=latency-critical)"]
    assert [s.value for s in app.subheader] == ["Alerts (1)"]
    assert any("firing · critical · checkout" in c.value for c in app.caption)


def test_a_service_filter_keeps_that_services_hits(open_page, fresh_estate: Seeded) -> None:
    app = _search(open_page(fresh_estate.data_dir), "service:payments kind:alert")
    assert _links(app) == ["[rule-payments-old](alerts?alert=payments-old)"]
    app = _search(app, "service:checkout")
    links = "\n".join(_links(app))
    assert "alerts?alert=latency-critical" in links and "payments-old" not in links
    assert "explore?metric=cpu_usage_ratio" in links  # checkout's series too


def test_q_in_the_url_fills_the_box(open_page, fresh_estate: Seeded) -> None:
    app = open_page(fresh_estate.data_dir, q="Checkout latency")
    assert not app.exception
    assert app.text_input(key="search_box").value == "Checkout latency"
    assert "(alerts?alert=latency-critical)" in "\n".join(_links(app))


def test_the_page_speaks_chinese(open_page, fresh_estate: Seeded) -> None:
    app = open_page(fresh_estate.data_dir, lang="zh", q="payments")
    assert not app.exception
    assert app.title[0].value == "搜索"
    assert "告警（1）" in [s.value for s in app.subheader]
    assert any("已恢复" in c.value for c in app.caption)
    assert "(alerts?alert=payments-old&lang=zh)" in "\n".join(_links(app))
    app = _search(app, "kind:日志")
    assert [e.value for e in app.error] == [
        "无法搜索：kind:日志 不是有效类型；可用：alert, series, incident, rule, knowledge"
    ]


def test_a_bad_query_shows_an_error_not_an_exception(open_page, fresh_estate: Seeded) -> None:
    app = _search(open_page(fresh_estate.data_dir), 'checkout "latency')
    assert [e.value for e in app.error] == [
        'Cannot search: a quote is not closed; add the closing "'
    ]
    app = _search(app, "'; DROP TABLE alerts; --")
    assert not app.error and [i.value for i in app.info] == ["Nothing matches in this time range."]


def test_the_time_range_narrows_alerts(open_page, fresh_estate: Seeded) -> None:
    store = Store.open(fresh_estate.data_dir)
    try:  # a checkout alert from ten days ago: outside the default week
        at = (fresh_estate.now - pd.Timedelta(days=10)).to_pydatetime()
        store.execute(
            "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
            "service, state, active_at, fired_at, resolved_at, last_eval_at) VALUES ('old-one', "
            "'fp-old', 'OldRule', '{}', '{}', 'warning', 'checkout', 'resolved', ?, ?, ?, ?)",
            [at, at, at, at],
        )
    finally:
        store.close()
    app = _search(open_page(fresh_estate.data_dir), "checkout kind:alert")
    assert "old-one" not in "\n".join(_links(app))
    app.segmented_control(key="search_range").set_value("all").run()
    assert "(alerts?alert=old-one)" in "\n".join(_links(app))
    app.segmented_control(key="search_range").set_value("24h").run()
    assert "old-one" not in "\n".join(_links(app))


def test_a_series_link_opens_explore_on_that_metric(open_page, fresh_estate: Seeded) -> None:
    app = open_page(fresh_estate.data_dir, page="explore", metric="http_latency_seconds")
    assert not app.exception
    assert app.selectbox(key="explore_metric").value == "http_latency_seconds"
    unknown = open_page(fresh_estate.data_dir, page="explore", metric="no_such_metric")
    assert unknown.selectbox(key="explore_metric").value == "cpu_usage_ratio"  # the first


def test_stored_text_cannot_inject_markdown(open_page, fresh_estate: Seeded) -> None:
    store = Store.open(fresh_estate.data_dir)
    try:
        store.execute(
            "INSERT INTO incidents (incident_id, origin, kind, title, series_keys, "
            "affected_services, started_at) VALUES ('inc-x', 'user', 'x', ?, '[]', '[]', ?)",
            ["[click](http://evil.example) :red[boom] $x$", fresh_estate.now.to_pydatetime()],
        )
    finally:
        store.close()
    app = _search(open_page(fresh_estate.data_dir), "click")
    assert [m.value for m in app.markdown if "click" in m.value] == [
        r"**\[click\]\(http\://evil.example\) \:red\[boom\] \$x\$**"
    ]


def test_runbook_passages_are_found_with_a_link_to_their_section(
    open_page, fresh_estate: Seeded
) -> None:
    from vigil.engine import get_engine

    books = fresh_estate.data_dir / "runbooks"
    books.mkdir()
    (books / "checkout.md").write_text(
        "# Checkout runbook\n\n## Checkout latency\n\nCheck the payments calls first.\n"
    )
    app = open_page(fresh_estate.data_dir)
    get_engine().knowledge.reindex()
    app = _search(app, "checkout latency")
    headers = [h.value for h in app.subheader]
    assert any(h.startswith("Knowledge") for h in headers)
    assert any(h.startswith("Alerts") for h in headers)  # the seeded checkout alert too
    link = "knowledge?doc=checkout.md#checkout-latency"
    assert any(link in m.value for m in app.markdown)
    app = _search(app, "checkout latency kind:alert")
    assert not any(h.startswith("Knowledge") for h in [h.value for h in app.subheader])
