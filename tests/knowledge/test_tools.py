"""The assistant's tools on a real store and knowledge base: each answers with data that
agrees with the database, every bad or hostile call is an error result rather than an
exception, and no call of any tool changes a single row of any table."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from knowledge.tools import TOOLS, ToolContext, run_tool, tool_schemas
from tests.knowledge.test_assistant_support import (
    DISK_KEY,
    estate_settings,
    open_knowledge,
    runbooks_dir,
    seeded_estate,
    table_fingerprints,
)
from vigil.store import Store


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolContext]:
    tmp = tmp_path_factory.mktemp("tools")
    data_dir, now = seeded_estate(tmp)
    settings = estate_settings(data_dir, runbooks_dir(tmp))
    store = Store.open(data_dir)
    kb = open_knowledge(settings, store)
    yield ToolContext(store, settings, kb, now)
    kb.close()
    store.close()


def _run(ctx: ToolContext, name: str, **args: object) -> dict:
    result = run_tool(ctx, name, json.dumps(args))
    assert result.outcome == "ok", result.content
    return json.loads(result.content)


def test_every_tool_has_a_closed_object_schema() -> None:
    schemas = tool_schemas()
    assert [s["function"]["name"] for s in schemas] == list(TOOLS)
    for schema in schemas:
        parameters = schema["function"]["parameters"]
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert schema["function"]["description"]


def test_series_stats_agree_with_the_stored_samples(ctx: ToolContext) -> None:
    data = _run(ctx, "series_stats", metric="http_latency_seconds",
                labels={"service": "payments"}, start="-30m")  # fmt: skip
    (row,) = data["series"]
    samples = ctx.store.df(
        "SELECT ts, value FROM samples WHERE series_id = 2 AND ts > ? AND ts <= ?",
        [(ctx.now - pd.Timedelta(minutes=30)).to_pydatetime(), ctx.now.to_pydatetime()],
    )
    values = samples["value"].to_numpy(float)
    assert row["points"] == len(values)
    assert row["max"] == pytest.approx(values.max()) and row["mean"] == pytest.approx(values.mean())
    assert row["p95"] == pytest.approx(np.quantile(values, 0.95))
    assert row["last"] == pytest.approx(samples.sort_values("ts")["value"].iloc[-1])
    since = (ctx.now - pd.Timedelta(minutes=30)).to_pydatetime()
    scored = ctx.store.one(
        "SELECT count(*) FROM scores WHERE series_id = 2 AND score >= 0.9 AND ts > ?", [since]
    )
    assert row["anomaly_points"] == scored > 0


def test_list_and_get_alert_show_states_and_the_timeline(ctx: ToolContext) -> None:
    firing = _run(ctx, "list_alerts", state=["firing"])
    assert [a["alert_id"] for a in firing["alerts"]] == ["latency-critical"]
    by_service = _run(ctx, "list_alerts", service="payments")
    assert {a["service"] for a in by_service["alerts"]} == {"payments"}
    one = _run(ctx, "get_alert", alert_id="latency-critical")
    assert one["alert"]["severity"] == "critical" and isinstance(one["timeline"], list)


def test_rank_root_causes_names_the_anomalous_service(ctx: ToolContext) -> None:
    data = _run(ctx, "rank_root_causes", at="now", lookback_minutes=30)
    assert data["services"][0]["service"] == "payments"
    around_alert = _run(ctx, "rank_root_causes", alert_id="latency-critical")
    assert "services" in around_alert


def test_knowledge_tools_return_passages_with_links(ctx: ToolContext) -> None:
    hits = _run(ctx, "search_knowledge", query="mysql slow queries", k=3)["hits"]
    assert hits and all(h["link"] for h in hits)
    assert any("mysql" in h["source"] for h in hits)
    incidents = _run(ctx, "similar_incidents", text="payments database connection pool")
    assert incidents["incidents"][0]["fix"] == "raised the pool size and restarted payments"


def test_forecast_projects_a_filling_disk(ctx: ToolContext) -> None:
    data = _run(ctx, "forecast_series", series_key=DISK_KEY, window_hours=2, threshold=1.0)
    slope = 0.001 * 60  # per hour, as seeded
    assert data["slope_per_hour"] == pytest.approx(slope, rel=1e-6)
    assert data["hours_to_threshold"] == pytest.approx((1.0 - data["level_now"]) / slope)


HOSTILE_STRINGS = ["'; DROP TABLE alerts; --", "latency-critical' OR '1'='1", "\x00",
                   "é" * 400, "1; DELETE FROM samples", "$(rm -rf /)", "{{7*7}}",
                   "../../etc/passwd"]  # fmt: skip
BAD_CALLS = [
    ("delete_alert", '{"alert_id": "latency-critical"}'),
    ("resolve_alert", "{}"),
    ("__import__", '{"name": "os"}'),
    ("series_stats; DROP TABLE series", "{}"),
    ("series_stats", "not json"),
    ("series_stats", "[1, 2]"),
    ("series_stats", '{"series_key": 42}'),
    ("series_stats", '{"metric": "x", "sql": "DELETE FROM samples"}'),
    ("series_stats", '{"series_key": "a", "start": "yesterday at noon"}'),
    ("series_stats", '{"metric": "http_latency_seconds", "start": "-30d"}'),
    ("list_alerts", '{"limit": 100000}'),
    ("list_alerts", '{"state": ["deleted"]}'),
    ("get_alert", "{}"),
    ("rank_root_causes", '{"lookback_minutes": -5}'),
    ("search_knowledge", '{"query": ""}'),
    ("similar_incidents", '{"text": "x", "k": 1000}'),
    ("forecast_series", '{"series_key": "nope"}'),
]


def _argument_sets() -> Iterator[tuple[str, str]]:
    """Every tool with ordinary, edge and hostile arguments."""
    ordinary = {
        "series_stats": [{"series_key": DISK_KEY}, {"metric": "cpu_usage_ratio", "start": "-2h"}],
        "list_alerts": [{}, {"state": ["pending", "resolved"], "limit": 1}],
        "get_alert": [{"alert_id": "payments-old"}],
        "rank_root_causes": [{"at": "-1h", "service": "checkout"}, {"alert_id": "search-pending"}],
        "search_knowledge": [{"query": "redis memory", "kind": "runbook"}],
        "similar_incidents": [{"text": "checkout slow", "service": "payments"}],
        "forecast_series": [{"series_key": DISK_KEY, "horizon_hours": 1}],
    }  # fmt: skip
    for name, sets in ordinary.items():
        yield from ((name, json.dumps(a)) for a in sets)
    fields = {"series_stats": "series_key", "get_alert": "alert_id", "list_alerts": "service",
              "rank_root_causes": "alert_id", "search_knowledge": "query",
              "similar_incidents": "text", "forecast_series": "series_key"}  # fmt: skip
    for (name, field), text in itertools.product(fields.items(), HOSTILE_STRINGS):
        yield name, json.dumps({field: text})
    yield from BAD_CALLS


def test_no_tool_call_changes_any_table(ctx: ToolContext) -> None:
    before = table_fingerprints(ctx.store)
    outcomes = {run_tool(ctx, name, args).outcome for name, args in _argument_sets()}
    assert outcomes == {"ok", "error", "refused"}
    assert table_fingerprints(ctx.store) == before


@pytest.mark.parametrize(("name", "arguments"), BAD_CALLS)
def test_bad_calls_are_error_results_for_the_model(ctx: ToolContext, name: str,
                                                   arguments: str) -> None:  # fmt: skip
    result = run_tool(ctx, name, arguments)
    assert result.outcome in ("error", "refused") and not result.citations
    assert set(json.loads(result.content)) == {"error"}


def test_a_tool_outside_the_registry_is_refused_by_name(ctx: ToolContext) -> None:
    result = run_tool(ctx, "delete_alert", '{"alert_id": "latency-critical"}')
    assert result.outcome == "refused"
    assert "no tool named 'delete_alert'" in json.loads(result.content)["error"]


def test_runbook_text_reaches_the_model_only_as_quoted_json(ctx: ToolContext) -> None:
    result = run_tool(ctx, "search_knowledge", '{"query": "payments latency pool"}')
    parsed = json.loads(result.content)
    assert any("IMPORTANT SYSTEM INSTRUCTION" in h["text"] for h in parsed["hits"])
    assert result.content.startswith("{")


def test_results_are_bounded(ctx: ToolContext) -> None:
    result = run_tool(ctx, "list_alerts", '{"limit": 50}')
    assert len(result.content) <= 13_000
