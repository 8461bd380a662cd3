""" "Test connection" for each configured endpoint: one real request, and what came of it.

The Settings page offers these so a misconfigured endpoint is found when it is set up,
not when the first alert is lost. Each check makes one request with the endpoint's own
auth, TLS and timeout (no retries: the answer should be now, and exact), never raises,
and returns a :class:`Check` whose ``detail`` is shown as is. Details never carry a
secret: every one is scrubbed of the endpoint's password, tokens, header values and API
key, URLs are cut to their origin (``jobs.channels._http.scrub``), and the masked keys
some APIs echo back (OpenAI: ``sk-ab****wxyz``) are removed too, since even part of a
key must not be shown.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from jobs.channels import build_channel
from jobs.channels._http import origin, scrub, url_secrets
from vigil.notify_settings import AlertmanagerTarget, Receiver, secret_text
from vigil.sample_notification import sample_payload
from vigil.settings import PrometheusEndpoint
from vigil.sources.promql_client import PromQLClient, _error_text, _json, _short

TEST_NOTIFICATION_ID = "vigil-test"
_MASKED = re.compile(r"[^\s'\"]*\*{4,}[^\s'\".,]*")  # a key echoed with its middle starred


@dataclass(frozen=True)
class Check:
    """The outcome of one test request: ``detail`` says what answered, or the exact error."""

    ok: bool
    detail: str


def shown_url(url: str) -> str:
    """``url`` as it may be displayed: origin and path, without credentials, query or
    token-like path segments."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return "(invalid URL)"
    hidden = set(url_secrets(url))
    path = "/".join("***" if part in hidden else part for part in path.split("/"))
    return origin(url) + path.rstrip("/")


def _url_credentials(url: str) -> list[str]:
    """What may be a credential in the URL of a Prometheus, an Alertmanager or a model
    endpoint: its password, and longer query values or token-like path segments. Not the
    URL itself (its origin is what a detail names), nor short values a scrub would mangle
    every detail with."""
    try:
        password = urlsplit(url).password or ""
    except ValueError:
        return [url]
    return [password, *(s for s in url_secrets(url)[1:] if len(s) >= 6)]


def _guarded(secrets: Iterable[str], attempt: Callable[[], Check]) -> Check:
    """Run ``attempt``; any failure becomes a failed check; every detail is scrubbed."""
    hidden = [s for s in secrets if s]
    try:
        check = attempt()
    except Exception as exc:  # a check reports, it never breaks the page
        check = Check(False, f"{type(exc).__name__}: {exc}")
    return Check(check.ok, scrub(_MASKED.sub("***", check.detail), hidden))


def _get(session: requests.Session, url: str, timeout: float,
         params: dict[str, str] | None = None) -> requests.Response | Check:  # fmt: skip
    """One GET, or the failed check saying why no answer came."""
    where = origin(url)
    try:
        return session.get(url, params=params, timeout=timeout)
    except requests.Timeout:
        return Check(False, f"no answer from {where} within {timeout:g}s")
    except requests.exceptions.SSLError as exc:
        found = re.search(r"certificate verify failed: [^(')]+", str(exc))
        return Check(False, f"TLS error with {where}: {found[0] if found else _short(exc)}")
    except requests.ConnectionError as exc:
        return Check(False, f"cannot connect to {where}: {_short(exc)}")
    except requests.RequestException as exc:
        return Check(False, f"{type(exc).__name__}: {exc}")


def _refused(response: requests.Response, message: str) -> Check:
    return Check(False, f"HTTP {response.status_code} from {origin(response.url)}: {message}")


def _prometheus_secrets(endpoint: PrometheusEndpoint) -> list[str]:
    """The password (also as the basic-auth header carries it, should a proxy echo it),
    the token, longer header values (an API key) and credentials in the URL."""
    password = secret_text(endpoint.password)
    basic = b64encode(f"{endpoint.username}:{password}".encode()).decode() if password else ""
    values = [v for v in endpoint.headers.values() if len(v) >= 8]
    return [password, basic, secret_text(endpoint.bearer_token), *values,
            *_url_credentials(endpoint.url)]  # fmt: skip


def check_prometheus(endpoint: PrometheusEndpoint) -> Check:
    """``/api/v1/status/buildinfo`` (the version); where that is not served (404: some
    Prometheus-compatible stores), an instant query of ``1`` shows the API answers."""

    def attempt() -> Check:
        base = endpoint.url.rstrip("/")
        # the session a pull uses: the endpoint's auth, headers and TLS settings
        with PromQLClient._session(endpoint) as session:
            answer = _get(session, f"{base}/api/v1/status/buildinfo", endpoint.timeout_seconds)
            if isinstance(answer, requests.Response) and answer.status_code == 404:
                answer = _get(session, f"{base}/api/v1/query", endpoint.timeout_seconds,
                              {"query": "1"})  # fmt: skip
                if isinstance(answer, requests.Response) and answer.ok:
                    return Check(True, f"{origin(base)} answers queries (no build information)")
        if isinstance(answer, Check):
            return answer
        body = _json(answer)
        if not answer.ok or body is None or body.get("status") != "success":
            return _refused(answer, _error_text(answer, body))
        version = (body.get("data") or {}).get("version", "unknown")
        return Check(True, f"Prometheus {version} at {origin(base)}")

    return _guarded(_prometheus_secrets(endpoint), attempt)


def check_receiver(receiver: Receiver, external_url: str, language: str = "en") -> Check:
    """Send a sample notification through ``receiver`` (a real message: its people see
    it); the channel's own ``Delivery.detail`` says how it went."""
    secrets = [secret_text(receiver.url), secret_text(receiver.secret),
               secret_text(receiver.bearer_token), secret_text(receiver.smtp_password),
               *url_secrets(secret_text(receiver.url)),
               *(v for v in receiver.headers.values() if len(v) >= 8)]  # fmt: skip

    def attempt() -> Check:
        channel = build_channel(receiver, language)
        delivery = channel.send(TEST_NOTIFICATION_ID, sample_payload(external_url, receiver.name))
        if delivery.ok:
            status = f"HTTP {delivery.status_code}" if delivery.status_code else "sent"
            return Check(True, f"delivered ({delivery.detail or status})")
        return Check(False, delivery.detail or "not delivered, no reason given")

    return _guarded(secrets, attempt)


def check_alertmanager(target: AlertmanagerTarget) -> Check:
    """``/api/v2/status`` with the target's token: its version and cluster status."""
    token = secret_text(target.bearer_token)

    def attempt() -> Check:
        base = target.url.rstrip("/")
        with requests.Session() as session:
            session.headers["Accept"] = "application/json"
            if token:
                session.headers["Authorization"] = f"Bearer {token}"
            answer = _get(session, f"{base}/api/v2/status", target.timeout_seconds)
        if isinstance(answer, Check):
            return answer
        body = _json(answer)
        if not answer.ok or body is None or "versionInfo" not in body:
            return _refused(answer, _text(answer))
        version = (body.get("versionInfo") or {}).get("version", "unknown")
        cluster = (body.get("cluster") or {}).get("status", "unknown")
        return Check(True, f"Alertmanager {version} at {origin(base)}, cluster {cluster}")

    return _guarded([token, *_url_credentials(target.url)], attempt)


def check_llm(base_url: str | None, model: str, api_key: SecretStr | None,
              timeout_seconds: float) -> Check:  # fmt: skip
    """``GET <base_url>/models`` as OpenAI-compatible APIs serve it: whether the key is
    taken and whether ``model`` is one of the models listed."""
    key = secret_text(api_key)

    def attempt() -> Check:
        if not base_url:
            return Check(False, "no language model endpoint is set (llm_base_url)")
        with requests.Session() as session:
            session.headers["Accept"] = "application/json"
            if key:
                session.headers["Authorization"] = f"Bearer {key}"
            answer = _get(session, f"{base_url.rstrip('/')}/models", timeout_seconds)
        if isinstance(answer, Check):
            return answer
        body = _json(answer)
        if not answer.ok or body is None or not isinstance(body.get("data"), list):
            return _refused(answer, _openai_error(answer, body))
        ids = [str(m.get("id")) for m in body["data"] if isinstance(m, dict)]
        where = f"{len(ids)} models listed at {origin(base_url)}"
        if model in ids:
            return Check(True, f"{where}; {model} is among them")
        return Check(True, f"{where}; {model} is NOT among them: {', '.join(ids[:10]) or '-'}")

    return _guarded([key, *_url_credentials(base_url or "")], attempt)


def _openai_error(response: requests.Response, body: dict[str, Any] | None) -> str:
    """OpenAI's ``{"error": {"message": ...}}``, a bare ``{"error": "..."}``, or the text."""
    error = (body or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    return _text(response)


def _text(response: requests.Response) -> str:
    """The start of an answer's text, unless it is empty or a page of HTML."""
    text = response.text.strip()
    if not text or text.startswith("<"):
        return response.reason or "no reason given"
    return text[:200]
