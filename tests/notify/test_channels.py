"""The HTTP channels against local services that speak each robot's protocol."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from jobs.channels import Channel, Delivery, build_channel
from jobs.channels.dingtalk import TEXT_LIMIT
from jobs.channels.wecom import CONTENT_LIMIT
from tests.conftest import need_binary
from tests.notify.payloads import VIGIL, alert, many, payload
from tests.notify.receivers import (
    DingTalkService,
    FakeService,
    FeishuService,
    Request,
    SlackService,
    WebhookService,
    WeComService,
    self_signed_cert,
)
from vigil.notify_settings import Receiver

TOKEN = "t0ken5ecret0123456789abcdefXYZ"  # robot token carried in the URL
SECRET = "SEC5ign1ng0123456789secret"
BEARER = "bearer5ecret0123456789"
API_KEY = "apikey5ecret0123456789"
SECRETS = {"webhook": (BEARER, API_KEY), "slack": (TOKEN,), "dingtalk": (TOKEN, SECRET),
           "wecom": (TOKEN,), "feishu": (TOKEN, SECRET)}  # fmt: skip
HTTP_KINDS = ("webhook", "slack", "dingtalk", "wecom", "feishu")
TITLE = "[FIRING:2] HighLatency orders"


def _service(kind: str) -> tuple[FakeService, dict[str, Any]]:
    """A fake of ``kind`` and the receiver fields that reach it with every secret set."""
    if kind == "dingtalk":
        service: FakeService = DingTalkService(TOKEN, SECRET)
        return service, {"url": service.url, "secret": SECRET}
    if kind == "feishu":
        service = FeishuService(TOKEN, SECRET)
        return service, {"url": service.url, "secret": SECRET}
    if kind == "wecom":
        service = WeComService(TOKEN)
    elif kind == "slack":
        service = SlackService(TOKEN)
    else:
        service = WebhookService(BEARER)
        return service, {"url": service.url, "bearer_token": BEARER,
                         "headers": {"X-Api-Key": API_KEY}}  # fmt: skip
    return service, {"url": service.url}


@contextmanager
def serving(kind: str, **fields: Any) -> Iterator[tuple[FakeService, Channel]]:
    service, defaults = _service(kind)
    with service:
        receiver = Receiver(name=f"team-{kind}", type=kind, **(defaults | fields))
        yield service, build_channel(receiver)


def message_text(kind: str, request: Request) -> str:
    """Every word of the message a service received, whatever its wire format."""
    body = request.json()
    if kind == "dingtalk":
        return body["markdown"]["title"] + "\n" + body["markdown"]["text"]
    if kind == "wecom":
        return body["markdown"]["content"]
    if kind == "feishu":
        card = body["card"]
        return card["header"]["title"]["content"] + "\n" + card["elements"][0]["text"]["content"]
    return json.dumps(body, ensure_ascii=False)


@pytest.fixture(params=HTTP_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def test_delivery_is_accepted_and_names_every_alert_with_links(kind: str) -> None:
    with serving(kind) as (service, channel):
        delivery = channel.send("n-1", payload())
        assert delivery.ok, delivery.detail
        text = message_text(kind, service.requests[0])
    assert "HighLatency" in text and "web-1:9100" in text and "web-2:9100" in text
    assert f"{VIGIL}/alerts?alert=a1" in text
    if kind != "webhook":
        assert TITLE in text and "p99 latency above 1s on web-2" in text and VIGIL in text


@pytest.mark.parametrize("kind", ["slack", "dingtalk", "wecom", "feishu"])
def test_chinese_receiver_gets_chinese_message(kind: str) -> None:
    with serving(kind, language="zh") as (service, channel):
        assert channel.send("n-1", payload(alert(1), alert(2, "resolved"))).ok
        text = message_text(kind, service.requests[0])
    assert "[告警:1] HighLatency orders" in text
    assert "开始时间" in text and "恢复时间" in text and "在 Vigil 中查看" in text


def test_default_language_applies_when_receiver_has_none() -> None:
    service = WeComService(TOKEN)
    with service:
        receiver = Receiver(name="wecom", type="wecom", url=service.url)
        assert build_channel(receiver, default_language="zh").send("n", payload()).ok
        english = Receiver(name="wecom", type="wecom", url=service.url, language="en")
        assert build_channel(english, default_language="zh").send("n", payload()).ok
    assert "[告警:2]" in message_text("wecom", service.requests[0])
    assert TITLE in message_text("wecom", service.requests[1])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(kind: str, status: int) -> None:
    with serving(kind) as (service, channel):
        service.fail(status, "upstream broke")
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and delivery.retryable and delivery.status_code == status
    assert delivery.detail == f"HTTP {status}: upstream broke"


def test_429_is_retryable_after_the_retry_after_seconds(kind: str) -> None:
    with serving(kind) as (service, channel):
        service.fail(429, "rate_limited", headers={"Retry-After": "17"})
        delivery = channel.send("n-1", payload())
    assert delivery.retryable and delivery.retry_after_seconds == 17.0


def test_408_is_retryable(kind: str) -> None:
    with serving(kind) as (service, channel):
        service.fail(408, "request timeout")
        assert channel.send("n-1", payload()).retryable


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_are_permanent(kind: str, status: int) -> None:
    with serving(kind) as (service, channel):
        service.fail(status, "invalid_payload")
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and not delivery.retryable and delivery.status_code == status


def test_no_answer_in_time_is_a_retryable_timeout(kind: str) -> None:
    with serving(kind, timeout_seconds=0.3) as (service, channel):
        service.fail(delay=1.5)
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and delivery.retryable
    assert "Timeout" in delivery.detail and "0.3s" in delivery.detail


def test_connection_closed_without_answer_is_retryable(kind: str) -> None:
    with serving(kind) as (service, channel):
        service.fail(close=True)
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and delivery.retryable and "RemoteProtocolError" in delivery.detail


def test_unreachable_service_is_retryable(kind: str) -> None:
    service, fields = _service(kind)
    service._server.server_close()  # never served: its port now refuses connections
    delivery = build_channel(Receiver(name="x", type=kind, **fields)).send("n-1", payload())
    assert not delivery.ok and delivery.retryable and "ConnectError" in delivery.detail


def _failures(kind: str) -> list[Delivery]:
    """Every way a delivery can fail, with the service echoing secrets where it can."""
    secrets = " ".join(SECRETS[kind])
    echo = f"bad {secrets} at http://127.0.0.1/x?access_token={TOKEN}"
    faults: list[dict[str, Any]] = [
        {"status": 500, "answer": echo}, {"status": 403, "answer": echo},
        {"status": 400, "answer": {"errcode": 1, "code": 1, "msg": echo}},
        {"delay": 1.5}, {"close": True},
    ]  # fmt: skip
    if kind in ("dingtalk", "wecom", "feishu"):  # HTTP 200, refused in the robot's JSON
        faults.append({"answer": {"errcode": 310000, "errmsg": echo, "code": 19021, "msg": echo}})
    service, fields = _service(kind)
    fields["timeout_seconds"] = 0.3
    deliveries = []
    with service:
        channel = build_channel(Receiver(name="x", type=kind, **fields))
        for fault in faults:
            service.fail(**fault)
            deliveries.append(channel.send("n-1", payload()))
        if "secret" in fields:  # the robot refuses the signature
            wrong = Receiver(name="x", type=kind, **(fields | {"secret": "wrong-" + SECRET}))
            deliveries.append(build_channel(wrong).send("n-1", payload()))
    for url in (fields["url"], fields["url"].replace("http://", "ftp://")):  # refused, unusable
        receiver = Receiver(name="x", type=kind, **(fields | {"url": url}))
        deliveries.append(build_channel(receiver).send("n-1", payload()))
    return deliveries


def test_no_secret_appears_in_any_failure_detail(kind: str) -> None:
    deliveries = _failures(kind)
    assert all(not d.ok for d in deliveries)
    for delivery in deliveries:
        assert delivery.detail
        for secret in SECRETS[kind]:
            assert secret not in delivery.detail, delivery.detail
        assert "access_token" not in delivery.detail and "/hook" not in delivery.detail


def test_httpx_request_log_shows_only_the_origin(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"), serving("dingtalk") as (_, channel):
        assert channel.send("n-1", payload()).ok
    assert "127.0.0.1" in caplog.text and TOKEN not in caplog.text


# --- DingTalk ------------------------------------------------------------------------


def test_dingtalk_signs_each_request_with_millisecond_timestamp() -> None:
    with serving("dingtalk") as (service, channel):
        assert channel.send("n-1", payload()).ok
        sent = service.requests[0]
    assert len(sent.query["timestamp"]) == 13 and sent.query["sign"]
    assert sent.json()["msgtype"] == "markdown"
    assert sent.json()["markdown"]["title"] == TITLE


def test_dingtalk_wrong_secret_is_refused_and_permanent() -> None:
    with serving("dingtalk", secret="not-the-secret") as (_, channel):
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and not delivery.retryable
    assert delivery.detail.startswith("DingTalk errcode 310000: sign not match")


def test_dingtalk_unsigned_request_to_signing_robot_is_permanent() -> None:
    service = DingTalkService(TOKEN, SECRET)
    with service:
        channel = build_channel(Receiver(name="d", type="dingtalk", url=service.url))
        assert not channel.send("n-1", payload()).retryable


def test_dingtalk_send_too_fast_is_retryable_after_its_ten_minute_throttle() -> None:
    with serving("dingtalk") as (service, channel):
        service.fail(answer=DingTalkService.SEND_TOO_FAST)
        delivery = channel.send("n-1", payload())
    assert delivery.retryable and delivery.retry_after_seconds == 600
    assert delivery.detail == "DingTalk errcode 130101: send too fast, exceed 20 times per minute"


def test_dingtalk_long_notification_is_cut_with_a_count_of_the_rest() -> None:
    with serving("dingtalk") as (service, channel):
        assert channel.send("n-1", many(200)).ok, "the service refuses texts over 20000 bytes"
        text = service.requests[0].json()["markdown"]["text"]
    shown = text.count("**Firing: HighLatency**")
    assert 0 < shown < 200 and f"… and {200 - shown} more alerts" in text
    assert len(text.encode()) <= TEXT_LIMIT


# --- WeCom ---------------------------------------------------------------------------


def test_wecom_wrong_key_is_permanent() -> None:
    service = WeComService(TOKEN)
    with service:
        url = service.url.replace(TOKEN, "another-key")
        delivery = build_channel(Receiver(name="w", type="wecom", url=url)).send("n", payload())
    assert not delivery.ok and not delivery.retryable
    assert delivery.detail.startswith("WeCom errcode 93000: invalid webhook url")


def test_wecom_frequency_limit_is_retryable() -> None:
    with serving("wecom") as (service, channel):
        service.fail(answer=WeComService.FREQ_OUT_OF_LIMIT)
        delivery = channel.send("n-1", payload())
    assert delivery.retryable and delivery.retry_after_seconds == 60
    assert delivery.detail == "WeCom errcode 45009: api freq out of limit"


def test_wecom_markdown_stays_within_4096_bytes() -> None:
    with serving("wecom", language="zh") as (service, channel):
        assert channel.send("n-1", many(50)).ok, "the service refuses content over 4096 bytes"
        content = service.requests[0].json()["markdown"]["content"]
    shown = content.count("**告警中: HighLatency**")
    assert len(content.encode()) <= CONTENT_LIMIT and f"另有 {50 - shown} 条告警" in content


# --- Feishu --------------------------------------------------------------------------


def test_feishu_sends_a_signed_red_card_while_firing_and_green_when_resolved() -> None:
    with serving("feishu") as (service, channel):
        assert channel.send("n-1", payload()).ok
        assert channel.send("n-2", payload(alert(1, "resolved"))).ok
        firing, resolved = (r.json() for r in service.requests)
    assert firing["msg_type"] == "interactive" and len(firing["timestamp"]) == 10
    assert firing["card"]["header"]["template"] == "red"
    assert resolved["card"]["header"]["template"] == "green"
    assert resolved["card"]["header"]["title"]["content"] == "[RESOLVED] HighLatency orders"


def test_feishu_sign_mismatch_is_permanent() -> None:
    with serving("feishu", secret="not-the-secret") as (_, channel):
        delivery = channel.send("n-1", payload())
    assert not delivery.retryable and delivery.detail.startswith("Feishu code 19021: sign match")


@pytest.mark.parametrize("code", [9499, 11232])
def test_feishu_rate_limits_are_retryable(code: int) -> None:
    with serving("feishu") as (service, channel):
        service.fail(answer={"code": code, "msg": "too many request", "data": {}})
        delivery = channel.send("n-1", payload())
    assert delivery.retryable and delivery.retry_after_seconds == 60


def test_feishu_older_bots_status_code_is_understood() -> None:
    service = FeishuService(TOKEN, legacy=True)
    with service:
        channel = build_channel(Receiver(name="f", type="feishu", url=service.url))
        assert channel.send("n-1", payload()).ok
        service.fail(answer={"StatusCode": 19024, "StatusMessage": "Key Words Not Found"})
        delivery = channel.send("n-2", payload())
    assert not delivery.ok and delivery.detail == "Feishu code 19024: Key Words Not Found"


def test_feishu_answer_without_a_code_is_not_taken_for_success() -> None:
    with serving("feishu") as (service, channel):
        service.fail(answer="<html>proxy login</html>")
        delivery = channel.send("n-1", payload())
    assert not delivery.ok and not delivery.retryable and "unexpected answer" in delivery.detail


# --- Slack ---------------------------------------------------------------------------


def test_slack_sends_header_and_mrkdwn_sections_with_escaped_values() -> None:
    with serving("slack") as (service, channel):
        assert channel.send("n-1", payload(alert(1, description="a < b & c"))).ok
        body = service.requests[0].json()
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                                            "text": "[FIRING:1] HighLatency orders",
                                                            "emoji": True}}  # fmt: skip
    assert "a &lt; b &amp; c" in body["blocks"][1]["text"]["text"]
    assert f"<{VIGIL}/alerts?alert=a1|View in Vigil>" in body["text"]


def test_slack_invalid_token_and_missing_service_are_permanent() -> None:
    service = SlackService(TOKEN)
    with service:
        revoked, elsewhere = service.url.replace(TOKEN, "revoked"), service.base + "/services/x"
        for url, expected in ((revoked, "HTTP 403: invalid_token"),
                              (elsewhere, "HTTP 404: no_service")):  # fmt: skip
            delivery = build_channel(Receiver(name="s", type="slack", url=url)).send("n", payload())
            assert not delivery.retryable and delivery.detail == expected


def test_slack_many_alerts_fit_its_block_limits() -> None:
    with serving("slack") as (service, channel):
        assert channel.send("n-1", many(400)).ok, "the service refuses blocks over its limits"
        body = service.requests[0].json()
    assert len(body["text"]) <= 40_000 and "more alerts" in body["text"]


# --- Webhook -------------------------------------------------------------------------


def test_webhook_posts_the_payload_as_is_with_auth_and_dedupe_headers() -> None:
    sent = payload()
    with serving("webhook") as (service, channel):
        assert channel.send("n-42", sent).ok
        request = service.requests[0]
    assert request.json() == sent
    assert request.headers["authorization"] == f"Bearer {BEARER}"
    assert request.headers["x-vigil-notification-id"] == "n-42"
    assert request.headers["idempotency-key"] == "n-42"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["content-type"].startswith("application/json")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need_binary("openssl")
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_https_self_signed_needs_tls_verify_off_and_is_permanent_otherwise(
    cert: tuple[Path, Path],
) -> None:
    service = WebhookService(cert=cert)
    with service:
        trusting = Receiver(name="w", type="webhook", url=service.url, tls_verify=False)
        assert build_channel(trusting).send("n-1", payload()).ok
        strict = Receiver(name="w", type="webhook", url=service.url)
        delivery = build_channel(strict).send("n-1", payload())
    assert service.url.startswith("https://")
    assert not delivery.ok and not delivery.retryable
    assert delivery.detail.startswith("TLS certificate of https://127.0.0.1:")


def test_webhook_wrong_bearer_token_is_permanent() -> None:
    with serving("webhook", bearer_token="wrong") as (_, channel):
        delivery = channel.send("n-1", payload())
    assert not delivery.retryable and delivery.status_code == 401


# --- templates -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["slack", "dingtalk", "wecom", "feishu"])
def test_title_and_body_templates_replace_the_defaults(kind: str) -> None:
    templates = {
        "title_template": "{{ status | upper }} {{ commonLabels.service }}",
        "body_template": "{% for a in alerts %}{{ a.labels.instance }};{% endfor %}",
    }
    with serving(kind, **templates) as (service, channel):
        assert channel.send("n-1", payload()).ok
        text = message_text(kind, service.requests[0])
    assert "FIRING orders" in text and "web-1:9100;web-2:9100;" in text
    assert "View in Vigil" not in text


@pytest.mark.parametrize(
    ("fields", "detail"),
    [({"body_template": "{% for a in alerts %}"}, "body_template is invalid: line 1: "),
     ({"title_template": "{{ status | nosuch }}"}, "title_template is invalid: line 1: "),
     ({"body_template": "{{ 1 / 0 }}"}, "body_template failed: ZeroDivisionError"),
     ({"body_template": "{{ ''.__class__.__mro__ }}"}, "body_template failed: SecurityError")],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["slack", "dingtalk", "wecom", "feishu"])
def test_broken_template_is_a_permanent_failure_naming_it(
    kind: str, fields: dict[str, str], detail: str
) -> None:
    with serving(kind, **fields) as (service, channel):
        delivery = channel.send("n-1", payload())
        assert service.requests == []
    assert not delivery.ok and not delivery.retryable and delivery.detail.startswith(detail)
