"""One HTTP attempt for the HTTP channels, classified the same way for all of them.

Connection errors, timeouts, 408, 429 and 5xx are worth retrying; other 4xx are not. The
robots (DingTalk, WeCom, Feishu) answer HTTP 200 with an error code in JSON, which
:class:`Robot` reads. Nothing here puts a URL in a detail: robot tokens live in the
query (DingTalk ``access_token``, WeCom ``key``) or the path (Slack, Feishu), so only
the origin (scheme://host:port) is ever shown, and every detail is scrubbed of the
channel's secrets as a last guard. httpx logs each request's full URL at INFO; a filter
on its logger shows the origin only, for the same reason.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from jobs.channels.base import Delivery
from vigil.notify_settings import Receiver, secret_text

E = TypeVar("E", bound=BaseException)
USER_AGENT = "Vigil-Notify/0.1"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_TOKENISH = re.compile(r"(?=.*\d).{8,}")  # path segments that look like tokens
_DETAIL_LENGTH = 200


def origin(url: str) -> str:
    """scheme://host[:port] of ``url``: what a detail may say about where it went."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}{port}"


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may be credentials: the whole URL, its password,
    every query value and every token-like path segment."""
    try:
        parts = urlsplit(url)
        found = [url, parts.password or "", parts.query]
    except ValueError:
        return [url]
    found += [value for _, value in parse_qsl(parts.query)]
    found += [segment for segment in parts.path.split("/") if _TOKENISH.fullmatch(segment)]
    return [s for s in found if s]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URLs reduced to their origin and every secret replaced, shortened
    to a detail's length."""
    text = _URL.sub(_origin_of_match, text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 1] + "…"


def _origin_of_match(match: re.Match[str]) -> str:
    url = match.group(0)
    kept = url.rstrip(".,:;)]}'\"")
    return origin(kept) + url[len(kept) :]


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


@dataclass(frozen=True)
class Robot:
    """How a chat robot reports success in its JSON answer: the first of ``code_keys``
    present is the error code (0 is success), the first of ``message_keys`` its text;
    ``rate_limited`` codes are retryable after ``rate_limit_seconds``."""

    service: str
    code_keys: tuple[str, ...]
    message_keys: tuple[str, ...]
    rate_limited: frozenset[int]
    rate_limit_seconds: float

    def read(self, response: httpx.Response) -> tuple[int, str] | None:
        try:
            data = response.json()
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        code = next((data[k] for k in self.code_keys if k in data), None)
        if not isinstance(code, int) or isinstance(code, bool):
            return None
        message = next((str(data[k]) for k in self.message_keys if data.get(k)), "")
        return code, message


@dataclass(frozen=True)
class Endpoint:
    """Where and how a receiver's requests go; ``url`` is secret (it holds tokens)."""

    url: str
    timeout: float
    verify: bool  # False accepts any TLS certificate (the receiver's tls_verify)

    @classmethod
    def of(cls, receiver: Receiver) -> Endpoint:
        return cls(secret_text(receiver.url), receiver.timeout_seconds, receiver.tls_verify)


def post(endpoint: Endpoint, body: bytes, *, secrets: Iterable[str] = (),
         headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
         robot: Robot | None = None) -> Delivery:  # fmt: skip
    """POST ``body`` (JSON) to the endpoint once and say how it went."""
    url, timeout = endpoint.url, endpoint.timeout
    hidden = [*url_secrets(url), *secrets, *(params or {}).values()]
    sent = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    try:
        # merged by hand: httpx's ``params=`` would replace the URL's own query (the token)
        target = httpx.URL(url).copy_merge_params(params) if params else url
        with httpx.Client(
            timeout=timeout, verify=_tls() if endpoint.verify else False, follow_redirects=False
        ) as client:
            response = client.post(target, content=body, headers=sent | dict(headers or {}))
    except httpx.TimeoutException as error:
        detail = f"{type(error).__name__}: no answer from {origin(url)} within {timeout:g}s"
        return Delivery(ok=False, retryable=True, detail=scrub(detail, hidden))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        detail = f"{type(error).__name__}: {origin(url)} is not a usable URL"
        return Delivery(ok=False, retryable=False, detail=scrub(detail, hidden))
    except httpx.HTTPError as error:
        untrusted = _cause(error, ssl.SSLCertVerificationError)
        if untrusted is not None:  # retrying will not make the certificate trusted
            detail = f"TLS certificate of {origin(url)} not trusted: {untrusted.verify_message}"
            return Delivery(ok=False, retryable=False, detail=scrub(detail, hidden))
        detail = f"{type(error).__name__} to {origin(url)}: {error}"
        return Delivery(ok=False, retryable=True, detail=scrub(detail, hidden))
    delivery = classify(response, robot)
    return Delivery(ok=delivery.ok, retryable=delivery.retryable,
                    status_code=delivery.status_code, detail=scrub(delivery.detail, hidden),
                    retry_after_seconds=delivery.retry_after_seconds)  # fmt: skip


def _cause(error: BaseException, kind: type[E]) -> E | None:
    """The first exception of ``kind`` in the chain behind ``error`` (httpx wraps)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@cache
def _tls() -> ssl.SSLContext:
    """httpx's default context (certifi's CAs), built once: it costs ~50 ms a client."""
    return httpx.create_ssl_context()


def classify(response: httpx.Response, robot: Robot | None = None) -> Delivery:
    """The outcome an answer means: a robot's code when it gave one, else the status."""
    status = response.status_code
    answer = robot.read(response) if robot is not None else None
    if response.is_success and robot is None:
        return Delivery(ok=True, status_code=status)
    if response.is_success and answer is None:
        return Delivery(ok=False, status_code=status,
                        detail=f"unexpected answer: {_reason(response)}")  # fmt: skip
    if answer is not None and answer[0] == 0 and response.is_success:
        return Delivery(ok=True, status_code=status, detail=answer[1])
    limited = robot is not None and answer is not None and answer[0] in robot.rate_limited
    retryable = limited or status in (408, 429) or status >= 500
    wait = retry_after(response.headers.get("Retry-After")) if retryable else None
    if wait is None and limited and robot is not None:
        wait = robot.rate_limit_seconds
    detail = f"HTTP {status}: {_reason(response)}"
    if robot is not None and answer is not None:
        detail = f"{robot.service} {robot.code_keys[0]} {answer[0]}: {answer[1]}"
        detail = detail if response.is_success else f"HTTP {status}, {detail}"
    return Delivery(ok=False, retryable=retryable, status_code=status, detail=detail,
                    retry_after_seconds=wait)  # fmt: skip


def _reason(response: httpx.Response) -> str:
    """A short reason: the answer's text unless it is empty or a page of HTML."""
    text = response.text.strip()
    if not text or text.startswith("<"):
        return response.reason_phrase or "no reason given"
    return text


class _OriginOnly(logging.Filter):
    """Rewrites httpx's "HTTP Request: POST <url>" log records to show the origin."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(_safe_arg(a) for a in record.args)
        return True


def _safe_arg(value: Any) -> Any:
    return origin(str(value)) if isinstance(value, httpx.URL) else value


if not any(isinstance(f, _OriginOnly) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_OriginOnly())
