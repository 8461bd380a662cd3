"""End to end on a real demo data dir: "why is checkout slow?" asked during a scripted
latency cascade. Without a language model the evidence answer names the incident's root
service (mysql or redis) first, with that service's series to chart and its runbook
section; with a model configured the same question goes through tool calls over the same
data and comes back with citations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from knowledge.answer_charts import citation_chart
from knowledge.assistant import Assistant
from knowledge.base import KnowledgeBase
from tests.knowledge.test_assistant_support import RUNBOOKS, open_knowledge
from tests.llm_server import DEFAULT_KEY, OpenAIServer, Scripted
from vigil.clock import utc_now
from vigil.engine import Engine
from vigil.settings import Settings, load_settings
from vigil.store import Store

DAYS = 4  # covers every kind of scripted incident at least once (they rotate every 80 h)
QUESTION = "why is checkout slow?"
ASK_AFTER = pd.Timedelta(minutes=10)


@dataclass
class Demo:
    store: Store
    settings: Settings
    knowledge: KnowledgeBase
    root: str
    at: pd.Timestamp

    def assistant(self, **overrides: object) -> Assistant:
        settings = self.settings.model_copy(update=overrides)
        return Assistant(self.store, settings, self.knowledge, clock=lambda: self.at)


def _settings(data_dir: Path) -> Settings:
    return load_settings(data_dir=data_dir, demo_backfill_days=DAYS, demo_seed=1,
                         training_days=DAYS, host_enabled=False, scheduler_enabled=False,
                         http_port=0, runbooks_dir=RUNBOOKS)  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A demo data dir as ``vigil demo`` leaves it, knowledge indexed, asked about mid-way
    through its latest latency cascade."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    settings = _settings(data_dir)
    engine = Engine(settings)
    try:
        engine.build_history(DAYS)
    finally:
        engine.stop()
    store = Store.open(data_dir)
    cascade = store.df(
        "SELECT service, started_at FROM incidents WHERE kind = 'latency_cascade' "
        "AND ended_at < ? ORDER BY started_at DESC LIMIT 1",
        [utc_now().to_pydatetime()],
    )
    assert not cascade.empty, "the demo estate scripted no latency cascade"
    kb = open_knowledge(settings, store)
    root, started = str(cascade["service"].iloc[0]), pd.Timestamp(cascade["started_at"].iloc[0])
    yield Demo(store, settings, kb, root, started + ASK_AFTER)
    kb.close()
    store.close()


def _series_service(store: Store, series_id: int) -> str:
    return str(store.one("SELECT service FROM series WHERE series_id = ?", [series_id]))


def test_without_a_model_the_root_service_comes_first_with_chart_and_runbook(demo: Demo) -> None:
    answer = demo.assistant().ask(QUESTION)
    assert demo.root in ("mysql", "redis")
    assert (answer.mode, answer.reason) == ("evidence", "unconfigured")
    assert answer.candidates[0]["service"] == demo.root
    assert f"Most likely cause: {demo.root}" in answer.text
    assert "Looking at **orders** (latency)" in answer.text  # checkout is what orders is called
    series = [c for c in answer.citations if c.kind == "series"]
    assert _series_service(demo.store, series[0].series_id) == demo.root
    chart = citation_chart(demo.store, series[0], "en", at=demo.at, rca=answer.rca)
    assert any(trace.x is not None and len(trace.x) > 0 for trace in chart.data)
    runbooks = [c for c in answer.citations if c.kind == "runbook"]
    assert runbooks and demo.root in runbooks[0].title.lower()  # its runbook or section
    assert runbooks[0].link


def test_with_a_model_the_same_question_goes_through_tools(demo: Demo) -> None:
    calls = (("rank_root_causes", {"service": "orders", "at": "now"}),
             ("search_knowledge", {"query": "database latency slow queries", "kind": "runbook"}),
             ("similar_incidents", {"text": "checkout latency cascade"}))  # fmt: skip
    script = [Scripted(tool_calls=calls), Scripted("The database went slow first; see below.")]
    with OpenAIServer(script=script) as server:
        answer = demo.assistant(llm_base_url=server.base_url,
                                llm_api_key=SecretStr(DEFAULT_KEY)).ask(QUESTION)  # fmt: skip
    assert answer.mode == "llm" and answer.text == "The database went slow first; see below."
    tool_messages = [m for m in server.requests[-1].body["messages"] if m["role"] == "tool"]
    ranking = json.loads(tool_messages[0]["content"])
    assert ranking["services"][0]["service"] == demo.root
    kinds = [c.kind for c in answer.citations]
    assert {"series", "runbook"} <= set(kinds)
    first_series = next(c for c in answer.citations if c.kind == "series")
    assert _series_service(demo.store, first_series.series_id) == demo.root
    assert answer.rca is not None and answer.rca["services"][0]["service"] == demo.root
