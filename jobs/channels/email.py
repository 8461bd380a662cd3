"""Email over SMTP (smtplib): one multipart/alternative message, plain text and HTML.

``smtp_security`` is ``starttls`` (upgrade on 587), ``ssl`` (implicit TLS on 465) or
``none``; ``tls_verify=False`` accepts a self-signed certificate. The Message-ID is
derived from the notification id, so a retry that reaches the mailbox twice is one
message to clients and list servers that deduplicate. SMTP's own reply classes decide
retrying: 4xx replies and connection errors are worth another attempt, 5xx replies
(535 bad credentials among them) and an untrusted certificate are not. When the server
takes some recipients and refuses others the message went out: it is reported as
delivered, with the refusals in the detail, since a retry would repeat it to the rest.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jobs.channels._http import scrub
from jobs.channels.base import Delivery
from jobs.channels.templates import Renderer, TemplateProblem
from vigil.notify_settings import Receiver, secret_text

_ATOM = re.compile(r"[A-Za-z0-9._-]{1,64}")


def message_id(notification_id: str, sender: str) -> str:
    """``<vigil.ID@domain-of-sender>``; an id that is not a safe dot-atom is hashed."""
    local = notification_id if _ATOM.fullmatch(notification_id) else (
        hashlib.sha256(notification_id.encode()).hexdigest()[:32])  # fmt: skip
    domain = sender.rpartition("@")[2].strip("<> ") or "vigil.invalid"
    return f"<vigil.{local}@{domain}>"


class EmailChannel:
    kind = "email"

    def __init__(self, receiver: Receiver, language: str = "en") -> None:
        self.name = receiver.name
        self._receiver = receiver
        self._password = secret_text(receiver.smtp_password)
        title, body = receiver.title_template, receiver.body_template
        self._text = Renderer("text", language, title, body)
        self._html = Renderer("html", language, title, body)

    def send(self, notification_id: str, payload: dict[str, Any]) -> Delivery:
        try:
            text, html = self._text.render(payload), self._html.render(payload)
        except TemplateProblem as problem:
            return problem.delivery()
        r = self._receiver
        mail = EmailMessage()
        mail["Subject"] = text.title
        mail["From"] = r.email_from
        mail["To"] = ", ".join(r.email_to)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(notification_id, r.email_from or "")
        mail["X-Vigil-Notification-Id"] = notification_id
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        mail.set_content(text.body)
        mail.add_alternative(html.body, subtype="html")
        try:
            refused = self._submit(mail)
        except (smtplib.SMTPException, OSError) as error:  # ssl errors are OSErrors
            failed = failure(error)
            return Delivery(ok=False, retryable=failed.retryable, status_code=failed.status_code,
                            detail=scrub(failed.detail, [self._password]))  # fmt: skip
        detail = "; ".join(f"refused {to}: {c} {_text(why)}" for to, (c, why) in refused.items())
        return Delivery(ok=True, status_code=250, detail=scrub(detail, [self._password]))

    def _submit(self, mail: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Connect, secure, log in and send; the recipients the server refused."""
        r = self._receiver
        host, port, timeout = r.smtp_host or "", r.smtp_port, r.timeout_seconds
        context = _tls_context(r.tls_verify)
        if r.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if r.smtp_security == "starttls":
                smtp.starttls(context=context)
            if r.smtp_username:
                smtp.login(r.smtp_username, self._password)
            return smtp.send_message(mail, from_addr=r.email_from, to_addrs=list(r.email_to))


def failure(error: smtplib.SMTPException | OSError) -> Delivery:
    """What an smtplib or socket error means for retrying."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.items())
        temporary = all(400 <= code < 500 for _, (code, _) in replies)
        code = replies[0][1][0] if replies else None
        listed = "; ".join(f"{to}: {c} {_text(why)}" for to, (c, why) in replies)
        return Delivery(ok=False, retryable=temporary, status_code=code,
                        detail=f"SMTP refused every recipient: {listed}")  # fmt: skip
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        what = "SMTP login failed" if isinstance(error, smtplib.SMTPAuthenticationError) else "SMTP"
        return Delivery(ok=False, retryable=400 <= code < 500, status_code=code,
                        detail=f"{what} {code}: {_text(error.smtp_error)}")  # fmt: skip
    if isinstance(error, ssl.SSLCertVerificationError):
        return Delivery(ok=False, detail=f"TLS certificate not trusted: {error.verify_message}")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Delivery(ok=False, detail=f"SMTP server does not support it: {error}")
    return Delivery(ok=False, retryable=True, detail=f"{type(error).__name__}: {error}")


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
