"""The Settings page in Streamlit's AppTest, with settings from the environment as an
operator sets them: secrets show only as set / not set, never their text, and each test
button reports what a real local server answered, or the exact error of a closed port."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.llm_server import OpenAIServer
from tests.notify.receivers import WebhookService, closed_port
from tests.ui.conftest import Seeded

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGE = "pages/settings.py"
API_KEY = "sk-vigil-page-key-3e9c1d7a5b"
HOOK_TOKEN = "hooktoken9f2c4e61"
BEARER = "bearer-page-0d6e2b91"
ROBOT = "robotpage7a1b3c5d"
INTAKE = "intake-page-c4f81e02"
PROM_PASSWORD = "prompage-55d1e7"
SECRETS = (API_KEY, HOOK_TOKEN, BEARER, ROBOT, INTAKE, PROM_PASSWORD)


@pytest.fixture
def servers() -> Iterator[tuple[WebhookService, OpenAIServer]]:
    with WebhookService(bearer_token=BEARER) as hook, OpenAIServer(api_key=API_KEY) as llm:
        yield hook, llm


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, servers: tuple) -> dict[str, Any]:
    """Receivers, an Alertmanager, a Prometheus and the model, all with secrets, set in
    the environment; returns what was set up."""
    hook, llm = servers
    down = closed_port()
    receivers = [
        {"name": "hook", "type": "webhook", "url": f"{hook.url}?token={HOOK_TOKEN}",
         "bearer_token": BEARER},
        {"name": "ding", "type": "dingtalk", "language": "zh", "rate_limit_per_minute": 20,
         "url": f"http://127.0.0.1:{down}/robot/send?access_token={ROBOT}",
         "secret": "SEC" + ROBOT},
    ]  # fmt: skip
    prometheus = [{"name": "main", "url": f"http://127.0.0.1:{down}", "username": "vigil",
                   "password": PROM_PASSWORD}]  # fmt: skip
    env = {
        "VIGIL_RECEIVERS": json.dumps(receivers),
        "VIGIL_ROUTE": json.dumps({"receiver": "hook", "routes": [
            {"receiver": "ding", "matchers": ['severity="critical"']}]}),
        "VIGIL_ALERTMANAGERS": json.dumps([{"url": f"http://127.0.0.1:{down}",
                                            "bearer_token": BEARER}]),
        "VIGIL_PROMETHEUS": json.dumps(prometheus),
        "VIGIL_INTAKE_TOKEN": INTAKE,
        "VIGIL_LLM_BASE_URL": llm.base_url,
        "VIGIL_LLM_API_KEY": API_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {"hook": hook, "llm": llm, "down": down}


@pytest.fixture
def open_settings(open_page) -> Callable[..., AppTest]:
    return lambda data_dir, **query: open_page(data_dir, PAGE, **query)


def rendered(app: AppTest) -> str:
    """Everything the page put on screen: every element's message, tables as CSV."""
    parts: list[str] = []

    def visit(node: Any) -> None:
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        if getattr(node, "type", "") == "arrow_data_frame":
            parts.append(node.value.to_csv())
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(app._tree)
    return "\n".join(parts)


def frame_with(app: AppTest, column: str) -> Any:
    return next(d.value for d in app.dataframe if column in d.value.columns)


def test_secrets_show_as_set_and_never_as_text(open_settings, configured, fresh_estate: Seeded):
    app = open_settings(fresh_estate.data_dir)
    assert not app.exception
    receivers = frame_with(app, "Secrets").set_index("Name")
    assert receivers.loc["hook", "Address"] == f"{configured['hook'].base}"
    assert receivers.loc["hook", "Secrets"] == "url: set, bearer_token: set"
    assert receivers.loc["ding", "Secrets"] == "url: set, secret: set"
    assert receivers.loc["ding", "Language"] == "zh"
    assert receivers.loc["ding", "Messages per minute"] == "20"
    values = frame_with(app, "TOML key").set_index("TOML key")["Value"]
    assert values["data_dir"] == str(fresh_estate.data_dir)
    llm = app.dataframe[-1].value.set_index("TOML key")["Value"]
    assert llm["llm_api_key"] == "set (from the environment)"
    assert llm["llm_base_url"] == configured["llm"].base_url
    notify = app.dataframe[3].value.set_index("TOML key")["Value"]
    assert notify["intake_token"] == "set (from the environment)"
    routes = frame_with(app, "Route (matchers)")
    assert list(routes["Receiver"]) == ["hook", "ding"]
    assert routes["Route (matchers)"][1].endswith('severity="critical"')
    page = rendered(app)
    assert "basic: vigil (password set)" in page
    for secret in SECRETS:
        assert secret not in page, secret


def test_test_buttons_report_success_and_exact_errors(open_settings, configured,
                                                      fresh_estate: Seeded) -> None:  # fmt: skip
    app = open_settings(fresh_estate.data_dir)
    app.button(key="settings_test_rcv_hook").click().run()
    app.button(key="settings_test_llm").click().run()
    app.button(key="settings_test_rcv_ding").click().run()
    app.button(key="settings_test_prom_0").click().run()
    assert not app.exception
    origin = configured["llm"].base_url.removesuffix("/v1")
    assert [s.value for s in app.success] == [
        "Success: delivered (HTTP 200)",
        f"Success: 1 models listed at {origin}; gpt-4o-mini is among them",
    ]
    down = f"http://127.0.0.1:{configured['down']}"
    assert [e.value for e in app.error] == [  # the Sources tab comes first
        f"Failed: cannot connect to {down}: Connection refused",
        f"Failed: ConnectError to {down}: [Errno 111] Connection refused",
    ]
    [sent] = configured["hook"].requests
    assert sent.headers["authorization"] == f"Bearer {BEARER}"
    page = rendered(app)
    assert "delivered (HTTP 200)" in page and "Connection refused" in page
    for secret in SECRETS:
        assert secret not in page, secret


def test_the_page_in_chinese(open_settings, configured, fresh_estate: Seeded) -> None:
    app = open_settings(fresh_estate.data_dir, lang="zh")
    assert not app.exception
    assert app.title[0].value == "设置"
    assert [tab.label for tab in app.tabs] == ["通用", "数据源", "通知", "语言模型"]
    receivers = frame_with(app, "密钥").set_index("名称")
    assert receivers.loc["hook", "密钥"] == "url: 已设置, bearer_token: 已设置"
    app.button(key="settings_test_llm").click().run()
    origin = configured["llm"].base_url.removesuffix("/v1")
    assert app.success[0].value == f"成功：1 models listed at {origin}; gpt-4o-mini is among them"


def test_nothing_configured_says_so(open_settings, fresh_estate: Seeded) -> None:
    app = open_settings(fresh_estate.data_dir)
    assert not app.exception
    assert "None configured." in [i.value for i in app.info]
    llm = app.dataframe[-1].value.set_index("TOML key")["Value"]
    assert llm["llm_api_key"] == "not set" and llm["llm_base_url"] == "—"
    assert app.button(key="settings_test_llm").disabled
