"""The assistant page on a real store: a question gets the labelled evidence answer with
its sources linked and the cited series charted, ``?alert=`` asks about that alert, the
conversation is listed and reopened, Chinese UI, and with a model configured the answer
comes through tool calls and shows its token use, never the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.knowledge.test_assistant_support import estate_settings, open_knowledge, runbooks_dir
from tests.llm_server import DEFAULT_KEY, OpenAIServer, Scripted
from tests.ui.conftest import Seeded
from vigil.store import Store

PAGE = "pages/assistant.py"


@pytest.fixture
def estate(fresh_estate: Seeded) -> Seeded:
    """The known estate with the sample runbooks indexed in its knowledge base."""
    runbooks = runbooks_dir(fresh_estate.data_dir, hostile=False)
    store = Store.open(fresh_estate.data_dir)
    open_knowledge(estate_settings(fresh_estate.data_dir, runbooks), store).close()
    store.close()
    return fresh_estate


def _ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception
    return app


def _text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    return "\n".join(parts + [i.value for i in app.info] + [w.value for w in app.warning])


def test_a_question_gets_the_evidence_answer_with_sources_and_charts(
    open_page, estate: Seeded
) -> None:
    app = open_page(estate.data_dir, PAGE)
    assert not app.exception and app.title[0].value == "Root-cause assistant"
    app = _ask(app, "why is payments slow?")
    text = _text(app)
    assert "**Evidence mode**" in text and "Most likely cause: payments" in text
    assert "(explore?metric=http_latency_seconds)" in text
    assert "runbook: [" in text
    charts = app.get("plotly_chart")
    assert charts and "payments" in json.dumps(json.loads(charts[0].proto.spec))
    assert any(c.value.startswith("Today: 0 of 200000 tokens") for c in app.caption)


def test_the_conversation_is_listed_and_reopened(open_page, estate: Seeded) -> None:
    app = _ask(open_page(estate.data_dir, PAGE), "why is payments slow?")
    app.run()
    titles = [b.label for b in app.sidebar.button]
    assert any(label.startswith("why is payments slow?") for label in titles)
    assert [m.value for m in app.markdown if m.value == "why is payments slow?"]
    app.sidebar.button[0].click().run()  # a new conversation
    assert not [m.value for m in app.markdown if m.value == "why is payments slow?"]
    app.sidebar.button[1].click().run()
    assert [m.value for m in app.markdown if m.value == "why is payments slow?"]


def test_alert_in_the_url_asks_about_that_alert(open_page, estate: Seeded) -> None:
    app = open_page(estate.data_dir, PAGE, alert="latency-critical")
    assert "About alert latency-critical" in [i.value for i in app.info]
    app = _ask(app, "what is going on?")
    assert "(alerts?alert=latency-critical)" in _text(app)
    unknown = open_page(estate.data_dir, PAGE, alert="nope")
    assert any("No alert nope" in w.value for w in unknown.warning)


def test_the_page_speaks_chinese(open_page, estate: Seeded) -> None:
    app = open_page(estate.data_dir, PAGE, lang="zh")
    assert app.title[0].value == "根因分析助手"
    app = _ask(app, "为什么支付很慢？")
    text = _text(app)
    assert "**证据模式**" in text and "最可能的原因：payments" in text and "来源" in text


def test_with_a_model_the_answer_comes_through_tools(
    open_page, estate: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [Scripted(tool_calls=(("rank_root_causes", {"at": "now", "service": "payments"}),)),
              Scripted("Payments latency rose first; check its database pool.")]  # fmt: skip
    with OpenAIServer(script=script) as server:
        monkeypatch.setenv("VIGIL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("VIGIL_LLM_API_KEY", DEFAULT_KEY)
        app = _ask(open_page(estate.data_dir, PAGE), "why is payments slow?")
    text = _text(app)
    assert "Payments latency rose first; check its database pool." in text
    assert "Answered by gpt-4o-mini" in text and "Evidence mode" not in text
    assert "prompt +" in text and "completion tokens" in text
    assert app.get("plotly_chart")
    assert DEFAULT_KEY not in text and DEFAULT_KEY not in str(app)
    assert len([r for r in server.requests if r.path == "/v1/chat/completions"]) == 2


def test_the_page_file_is_thin() -> None:
    page = Path(__file__).resolve().parents[2] / PAGE
    text = page.read_text(encoding="utf-8")
    assert "store.df(" not in text and "execute(" not in text and "SELECT" not in text
