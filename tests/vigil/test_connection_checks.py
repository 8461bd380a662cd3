"""The Settings page's "test connection" checks against real servers: a Prometheus with
basic auth, an Alertmanager, webhook and DingTalk receivers, an OpenAI-compatible
endpoint, and a closed port. Each says what answered or the exact error, and no detail
carries a password, token, webhook token or API key, not even part of one."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bcrypt
import pytest
import requests
from pydantic import SecretStr

from tests.alertmanager import BINARY as ALERTMANAGER
from tests.alertmanager import AlertmanagerServer
from tests.conftest import need_binary
from tests.llm_server import OpenAIServer
from tests.notify.receivers import DingTalkService, WebhookService, closed_port
from tests.sources.promserver import PrometheusServer
from vigil.connection_checks import (
    Check,
    check_alertmanager,
    check_llm,
    check_prometheus,
    check_receiver,
    shown_url,
)
from vigil.notify_settings import AlertmanagerTarget, Receiver
from vigil.settings import PrometheusEndpoint

pytestmark = pytest.mark.integration

PASSWORD = "prom-pass-7c1e94d2"
TOKEN = "bearer-tok-55aa0f93"
HEADER = "org-key-31f0c2aa9b"
API_KEY = "sk-vigil-real-key-8d2f61c0e4b7"
ROBOT_TOKEN = "robot0token1f4e8a"
SECRETS = (PASSWORD, TOKEN, HEADER, API_KEY, ROBOT_TOKEN, API_KEY[-4:], API_KEY[:12])


def assert_secret_free(check: Check) -> None:
    for secret in SECRETS:
        assert secret not in check.detail, (secret, check.detail)


def down() -> str:
    return f"http://127.0.0.1:{closed_port()}"


class GuardedPrometheus(PrometheusServer):
    """A real Prometheus asking basic auth (user ``vigil``) of every request, ``/-/ready``
    included, so it is waited for with the password."""

    def start(self) -> GuardedPrometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        web = self.workdir / "web.yml"
        web.write_text(f'basic_auth_users:\n  vigil: "{hashed}"\n')
        log = open(self.workdir / "prometheus.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={self._config()}", f"--web.config.file={web}",
             f"--storage.tsdb.path={self.storage}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/-/ready", auth=("vigil", PASSWORD), timeout=1).ok:
                    return self
            time.sleep(0.1)
        raise TimeoutError(f"prometheus did not get ready: {self.workdir / 'prometheus.log'}")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = GuardedPrometheus(need_binary("prometheus"), tmp_path_factory.mktemp("prometheus"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerServer]:
    server = AlertmanagerServer(need_binary(ALERTMANAGER), tmp_path_factory.mktemp("am")).start()
    yield server
    server.stop()


def endpoint(url: str, password: str = PASSWORD, **fields: object) -> PrometheusEndpoint:
    return PrometheusEndpoint(url=url, username="vigil", password=SecretStr(password),
                              headers={"X-Scope-OrgID": HEADER}, timeout_seconds=5,
                              **fields)  # fmt: skip


def test_prometheus_reports_its_version(prometheus: PrometheusServer) -> None:
    check = check_prometheus(endpoint(prometheus.url))
    assert check == Check(True, f"Prometheus 2.42.0+ds at {prometheus.url}")


def test_prometheus_refusing_the_password_says_so(prometheus: PrometheusServer) -> None:
    check = check_prometheus(endpoint(prometheus.url, password="wrong-" + PASSWORD))
    assert check == Check(False, f"HTTP 401 from {prometheus.url}: Unauthorized")
    assert "wrong-" not in check.detail


class _NoBuildinfo(BaseHTTPRequestHandler):
    """A Prometheus-compatible store that serves queries but not ``status/buildinfo``."""

    def do_GET(self) -> None:
        found = self.path.startswith("/api/v1/query?")
        body = {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}
        payload = json.dumps(body if found else {"status": "error", "error": "not found"})
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_without_buildinfo_an_instant_query_shows_the_api_answers() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoBuildinfo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        check = check_prometheus(endpoint(url))
    finally:
        server.shutdown()
        server.server_close()
    assert check == Check(True, f"{url} answers queries (no build information)")


def test_a_down_prometheus_is_named_with_the_reason() -> None:
    url = down()
    check = check_prometheus(endpoint(url, bearer_token=SecretStr(TOKEN)))
    assert check == Check(False, f"cannot connect to {url}: Connection refused")
    assert_secret_free(check)


def test_credentials_in_the_url_never_show() -> None:
    port = closed_port()
    check = check_prometheus(endpoint(f"http://vigil:{PASSWORD}@127.0.0.1:{port}/prom"))
    assert check == Check(False, f"cannot connect to http://127.0.0.1:{port}: Connection refused")
    assert shown_url(f"http://vigil:{PASSWORD}@127.0.0.1:{port}/prom/") == (
        f"http://127.0.0.1:{port}/prom"
    )


def test_a_receiver_gets_the_sample_notification() -> None:
    with WebhookService(bearer_token=TOKEN) as service:
        receiver = Receiver(name="hook", type="webhook", url=SecretStr(service.url),
                            bearer_token=SecretStr(TOKEN))  # fmt: skip
        check = check_receiver(receiver, "http://vigil.example:8501")
        assert check == Check(True, "delivered (HTTP 200)")
        [request] = service.requests
    assert request.headers["x-vigil-notification-id"] == "vigil-test"
    assert request.json()["alerts"][0]["labels"]["alertname"] == "VigilTestNotification"
    assert request.json()["receiver"] == "hook"


def test_a_receiver_refusing_the_token_gives_the_exact_error() -> None:
    with WebhookService(bearer_token="the-right-one") as service:
        receiver = Receiver(name="hook", type="webhook", url=SecretStr(service.url),
                            bearer_token=SecretStr(TOKEN))  # fmt: skip
        check = check_receiver(receiver, "http://vigil.example:8501")
    assert check == Check(False, 'HTTP 401: {"error": "unauthorized"}')
    assert_secret_free(check)


def test_a_robot_token_in_the_url_never_shows() -> None:
    with DingTalkService(access_token=ROBOT_TOKEN, secret="SECsigning") as robot:
        good = Receiver(name="ding", type="dingtalk", url=SecretStr(robot.url),
                        secret=SecretStr("SECsigning"), language="zh")  # fmt: skip
        assert check_receiver(good, "http://vigil.example:8501", "en") == Check(
            True, "delivered (ok)"
        )
        wrong = good.model_copy(update={"secret": SecretStr("SECwrong-one")})
        check = check_receiver(wrong, "http://vigil.example:8501")
    assert check.ok is False
    assert check.detail.startswith("DingTalk errcode 310000: sign not match")
    assert "SECwrong-one" not in check.detail and "SECsigning" not in check.detail


def test_a_receiver_on_a_closed_port_says_connection_refused() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/robot/send?access_token={ROBOT_TOKEN}"
    check = check_receiver(Receiver(name="ding", type="dingtalk", url=SecretStr(url)), "")
    assert check == Check(
        False, f"ConnectError to http://127.0.0.1:{port}: [Errno 111] Connection refused"
    )
    assert_secret_free(check)


def test_alertmanager_reports_version_and_cluster(alertmanager: AlertmanagerServer) -> None:
    target = AlertmanagerTarget(url=alertmanager.url + "/", bearer_token=SecretStr(TOKEN))
    check = check_alertmanager(target)
    assert check == Check(True, f"Alertmanager 0.25.0 at {alertmanager.url}, cluster disabled")


def test_something_else_at_the_alertmanager_url_is_an_exact_error(
    alertmanager: AlertmanagerServer,
) -> None:
    target = AlertmanagerTarget(url=alertmanager.url + "/nothing", bearer_token=SecretStr(TOKEN))
    check = check_alertmanager(target)
    assert check.ok is False
    assert check.detail.startswith(f"HTTP 404 from {alertmanager.url}")
    down_check = check_alertmanager(AlertmanagerTarget(url=down(), bearer_token=SecretStr(TOKEN)))
    assert down_check.detail.endswith(": Connection refused")
    assert_secret_free(check)
    assert_secret_free(down_check)


def test_llm_lists_the_configured_model() -> None:
    with OpenAIServer(api_key=API_KEY, models=("gpt-4o-mini", "qwen-max")) as llm:
        check = check_llm(llm.base_url, "gpt-4o-mini", SecretStr(API_KEY), 5)
        missing = check_llm(llm.base_url, "deepseek-chat", SecretStr(API_KEY), 5)
        [first, _] = llm.requests
    origin = llm.base_url.removesuffix("/v1")
    assert check == Check(True, f"2 models listed at {origin}; gpt-4o-mini is among them")
    assert missing == Check(
        True, f"2 models listed at {origin}; deepseek-chat is NOT among them: gpt-4o-mini, qwen-max"
    )
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert_secret_free(check)


def test_llm_wrong_key_shows_the_endpoints_message_without_the_key() -> None:
    wrong = API_KEY.replace("real", "fake")
    with OpenAIServer(api_key=API_KEY) as llm:
        check = check_llm(llm.base_url, "gpt-4o-mini", SecretStr(wrong), 5)
        unset = check_llm(llm.base_url, "gpt-4o-mini", None, 5)
    origin = llm.base_url.removesuffix("/v1")
    assert check == Check(
        False,
        f"HTTP 401 from {origin}: Incorrect API key provided: ***. You can find your API key "
        "at https://platform.openai.com.",
    )
    assert wrong[-4:] not in check.detail and wrong[:8] not in check.detail
    assert unset.ok is False
    assert unset.detail.startswith(f"HTTP 401 from {origin}: You didn't provide an API key.")


def test_llm_unset_or_down_says_so() -> None:
    assert check_llm(None, "gpt-4o-mini", None, 5) == Check(
        False, "no language model endpoint is set (llm_base_url)"
    )
    url = down()
    check = check_llm(f"{url}/v1", "gpt-4o-mini", SecretStr(API_KEY), 5)
    assert check == Check(False, f"cannot connect to {url}: Connection refused")


def test_the_test_llm_server_answers_chat_completions() -> None:
    with OpenAIServer(api_key=API_KEY, reply="pong") as llm:
        question = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
        answer = requests.post(f"{llm.base_url}/chat/completions", json=question, timeout=5,
                               headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    body = answer.json()
    assert answer.status_code == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "pong"}
    assert body["choices"][0]["finish_reason"] == "stop"


def test_the_check_module_never_raises_on_nonsense() -> None:
    check = check_prometheus(PrometheusEndpoint(url="not a url", bearer_token=SecretStr(TOKEN)))
    assert check.ok is False and check.detail
    assert_secret_free(check)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests must not go through a proxy the machine may set."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
