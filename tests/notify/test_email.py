"""The email channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.channels import build_channel
from jobs.channels.email import message_id
from tests.conftest import need_binary
from tests.notify.payloads import VIGIL, alert, payload
from tests.notify.receivers import SmtpServer, closed_port, self_signed_cert
from vigil.notify_settings import Receiver

PASSWORD = "smtp-pa55word-0123456789"
SENDER = "vigil@ops.example.com"
TO = ("oncall@example.com", "sre@example.com")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need_binary("openssl")
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


def mail_receiver(port: int, **fields: Any) -> Receiver:
    defaults: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port,
                                "smtp_security": "none", "email_from": SENDER, "email_to": TO,
                                "timeout_seconds": 5}  # fmt: skip
    return Receiver(name="mail", type="email", **(defaults | fields))


@pytest.fixture
def plain() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_plain_smtp_delivers_text_and_html_alternatives(plain: SmtpServer) -> None:
    delivery = build_channel(mail_receiver(plain.port)).send("n-7", payload())
    assert delivery.ok, delivery.detail
    mail = plain.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "[FIRING:2] HighLatency orders" in text and "web-2:9100" in text
    assert f"{VIGIL}/alerts?alert=a1" in text and f'href="{VIGIL}/alerts?alert=a1"' in html
    assert "<h2" in html and "p99 latency above 1s on web-1" in html


def test_mail_goes_to_every_recipient_with_message_id_from_the_notification(
    plain: SmtpServer,
) -> None:
    assert build_channel(mail_receiver(plain.port)).send("n-7", payload()).ok
    mail = plain.messages[0]
    assert plain.envelopes[0] == (SENDER, list(TO))
    assert mail["Message-ID"] == message_id("n-7", SENDER) == "<vigil.n-7@ops.example.com>"
    assert mail["X-Vigil-Notification-Id"] == "n-7" and mail["To"] == ", ".join(TO)
    assert mail["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_and_hashes_ids_unsafe_in_headers() -> None:
    assert message_id("a b<c>", SENDER) == message_id("a b<c>", SENDER)
    assert message_id("a b<c>", SENDER) != message_id("a b<d>", SENDER)
    assert " " not in message_id("a b<c>", SENDER) and "<c>" not in message_id("a b<c>", SENDER)


def test_chinese_subject_is_encoded_on_the_wire_and_decodes_back(plain: SmtpServer) -> None:
    receiver = mail_receiver(plain.port, language="zh")
    assert build_channel(receiver).send("n-1", payload(alert(1, "resolved"))).ok
    raw_subject = next(
        line for line in plain.raw[0].split(b"\r\n") if line.lower().startswith(b"subject:")
    )
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()
    assert plain.messages[0]["Subject"] == "[已恢复] HighLatency orders"
    assert "恢复时间" in plain.messages[0].get_body(("plain",)).get_content()


def test_starttls_with_login_delivers(cert: tuple[Path, Path]) -> None:
    with SmtpServer(cert=cert, login=("vigil", PASSWORD)) as server:
        receiver = mail_receiver(server.port, smtp_security="starttls", tls_verify=False,
                                 smtp_username="vigil", smtp_password=PASSWORD)  # fmt: skip
        delivery = build_channel(receiver).send("n-1", payload())
    assert delivery.ok, delivery.detail
    assert server.logins == ["vigil"] and len(server.messages) == 1


def test_implicit_tls_delivers(cert: tuple[Path, Path]) -> None:
    with SmtpServer(cert=cert, implicit_tls=True) as server:
        receiver = mail_receiver(server.port, smtp_security="ssl", tls_verify=False)
        assert build_channel(receiver).send("n-1", payload()).ok
    assert len(server.messages) == 1


def test_untrusted_certificate_is_permanent(cert: tuple[Path, Path]) -> None:
    with SmtpServer(cert=cert) as server:
        receiver = mail_receiver(server.port, smtp_security="starttls", tls_verify=True)
        delivery = build_channel(receiver).send("n-1", payload())
    assert not delivery.ok and not delivery.retryable
    assert delivery.detail.startswith("TLS certificate not trusted")


def test_wrong_password_is_permanent_and_no_password_is_shown(cert: tuple[Path, Path]) -> None:
    with SmtpServer(cert=cert, login=("vigil", "the-right-one")) as server:
        receiver = mail_receiver(server.port, smtp_security="starttls", tls_verify=False,
                                 smtp_username="vigil", smtp_password=PASSWORD)  # fmt: skip
        delivery = build_channel(receiver).send("n-1", payload())
    assert not delivery.ok and not delivery.retryable and delivery.status_code == 535
    assert delivery.detail.startswith("SMTP login failed 535")
    assert PASSWORD not in delivery.detail and "the-right-one" not in delivery.detail


def test_server_without_starttls_is_a_permanent_configuration_error(plain: SmtpServer) -> None:
    receiver = mail_receiver(plain.port, smtp_security="starttls")
    delivery = build_channel(receiver).send("n-1", payload())
    assert not delivery.ok and not delivery.retryable and "STARTTLS" in delivery.detail


@pytest.mark.parametrize(
    ("stage", "reply", "retryable"),
    [("rcpt", "451 4.3.0 try again later", True), ("rcpt", "550 5.1.1 no such user", False),
     ("data", "452 4.3.1 insufficient storage", True), ("data", "554 5.7.1 rejected", False)],
)  # fmt: skip
def test_smtp_reply_class_decides_retrying(
    plain: SmtpServer, stage: str, reply: str, retryable: bool
) -> None:
    if stage == "rcpt":
        plain.refuse_rcpt["*"] = reply
    else:
        plain.refuse_data = reply
    delivery = build_channel(mail_receiver(plain.port)).send("n-1", payload())
    code = int(reply[:3])
    assert not delivery.ok and delivery.retryable is retryable and delivery.status_code == code
    assert reply[4:] in delivery.detail


def test_some_recipients_refused_still_counts_as_sent(plain: SmtpServer) -> None:
    plain.refuse_rcpt[TO[1]] = "550 5.1.1 no such user"
    delivery = build_channel(mail_receiver(plain.port)).send("n-1", payload())
    assert delivery.ok and f"refused {TO[1]}: 550" in delivery.detail
    assert plain.envelopes[0][1] == [TO[0]]


def test_unreachable_server_is_retryable() -> None:
    delivery = build_channel(mail_receiver(closed_port())).send("n-1", payload())
    assert not delivery.ok and delivery.retryable and "ConnectionRefusedError" in delivery.detail


def test_server_that_never_greets_times_out_retryably() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the TCP connection, never says 220
        receiver = mail_receiver(silent.getsockname()[1], timeout_seconds=0.3)
        delivery = build_channel(receiver).send("n-1", payload())
    assert not delivery.ok and delivery.retryable and "timed out" in delivery.detail


def test_body_template_is_escaped_in_html_and_plain_in_text(plain: SmtpServer) -> None:
    body = "{{ alerts[0].annotations.summary }} <b>x</b>"
    receiver = mail_receiver(plain.port, title_template="{{ alerts | length }} alerts",
                             body_template=body)  # fmt: skip
    sent = payload(alert(1, summary="a <script> & b"))
    assert build_channel(receiver).send("n-1", sent).ok
    mail = plain.messages[0]
    assert mail["Subject"] == "1 alerts"
    assert "a &lt;script&gt; &amp; b <b>x</b>" in mail.get_body(("html",)).get_content()
    assert "a <script> & b <b>x</b>" in mail.get_body(("plain",)).get_content()


def test_broken_email_template_sends_nothing(plain: SmtpServer) -> None:
    receiver = mail_receiver(plain.port, body_template="{{ alerts[0].labels.x.y.z() }}")
    delivery = build_channel(receiver).send("n-1", payload())
    assert not delivery.ok and not delivery.retryable
    assert delivery.detail.startswith("body_template failed: UndefinedError")
    assert plain.messages == []
