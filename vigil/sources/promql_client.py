"""Range queries against Prometheus' ``/api/v1/query_range`` through prometheus-api-client.

``PrometheusConnect.custom_query_range`` sends the request on a ``requests.Session`` that
carries the endpoint's auth, headers and TLS settings. Three things it does not do are done
around it: a response hook keeps the HTTP status (the library folds every status into one
exception, but a 503 is worth retrying and a 400 is not) and the response's ``warnings``
(partial data must be reported, not hidden); times are passed time-zone aware (the library
reads naive datetimes in the *local* zone); and retries of what is transient (connection
errors, timeouts, 429 and 5xx) use exponential backoff with full jitter inside a bounded
total time, instead of urllib3's fixed retries, which are switched off.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from vigil.errors import VigilError
from vigil.settings import PrometheusEndpoint

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(VigilError):
    """A source could not answer; the message names the endpoint, the query and the cause.

    ``unreachable`` says the endpoint itself is down, so its other queries need not be tried.
    """

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: ``attempts`` tries within ``budget_seconds``."""

    attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    budget_seconds: float = 120.0

    def delay(self, attempt: int) -> float:
        """Full-jitter backoff: spreads retries of many pullers so they do not stampede."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
        return random.uniform(0, ceiling)


@dataclass
class RangeAnswer:
    """The ``result`` matrix of one successful query_range, with any warnings it carried."""

    result: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


class _Transient(Exception):
    """A failure worth retrying; carries the text reported when the retries run out."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class PromQLClient:
    """Range queries against one endpoint; one session per client, used by one thread."""

    def __init__(self, endpoint: PrometheusEndpoint, retry: RetryPolicy | None = None) -> None:
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.session = self._session(endpoint)
        self.session.hooks["response"].append(self._remember)
        self._response: requests.Response | None = None
        self.prometheus = PrometheusConnect(
            url=endpoint.url.rstrip("/"),
            retry=Retry(total=0, read=False, raise_on_status=False),  # retried below
            session=self.session,
            timeout=endpoint.timeout_seconds,
        )

    @staticmethod
    def _session(endpoint: PrometheusEndpoint) -> requests.Session:
        session = requests.Session()
        session.headers.update({"Accept": "application/json", **endpoint.headers})
        if endpoint.bearer_token is not None:
            token = endpoint.bearer_token.get_secret_value()
            session.headers["Authorization"] = f"Bearer {token}"
        elif endpoint.username is not None:
            password = endpoint.password.get_secret_value() if endpoint.password else ""
            session.auth = (endpoint.username, password)
        session.verify = str(endpoint.ca_file) if endpoint.ca_file else endpoint.tls_verify
        return session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._response = response

    def close(self) -> None:
        self.prometheus.close()

    def _where(self, query: str) -> str:
        return f"prometheus {self.endpoint.name!r} ({self.endpoint.url}), query {query!r}"

    def query_range(
        self, query: str, start: pd.Timestamp, end: pd.Timestamp, step_seconds: int
    ) -> RangeAnswer:
        """Evaluate ``query`` at every step in [start, end] (both inclusive, as the API does).

        ``start`` and ``end`` are naive UTC on whole seconds (the library rounds to seconds).
        Raises :class:`SourceError` for a PromQL or client error at once, and for transient
        failures once the retry policy is exhausted.
        """
        deadline = time.monotonic() + self.retry.budget_seconds
        attempt = 0
        while True:
            try:
                return self._once(query, _aware(start), _aware(end), step_seconds)
            except _Transient as exc:
                attempt += 1
                pause = self.retry.delay(attempt - 1)
                if attempt >= self.retry.attempts or time.monotonic() + pause > deadline:
                    raise SourceError(
                        f"{self._where(query)} failed after {attempt} attempts: {exc}",
                        unreachable=exc.unreachable,
                    ) from None
                log.info("%s: %s; retrying in %.1fs", self._where(query), exc, pause)
                time.sleep(pause)

    def _once(self, query: str, start: datetime, end: datetime, step_seconds: int) -> RangeAnswer:
        self._response = None
        try:
            result = self.prometheus.custom_query_range(query, start, end, str(step_seconds))
        except requests.Timeout:
            raise _Transient(f"no answer within {self.endpoint.timeout_seconds:g}s") from None
        except requests.ConnectionError as exc:
            raise _Transient(f"cannot connect: {_short(exc)}", unreachable=True) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise _Transient(f"answer cut off: {_short(exc)}") from None
        except (PrometheusApiClientException, ValueError, KeyError, TypeError):
            response = self._response
            if response is None:
                raise
            if response.status_code in _RETRY_STATUS:
                raise _Transient(f"HTTP {response.status_code}: {_error_text(response)}") from None
            raise SourceError(
                f"{self._where(query)} was rejected: HTTP {response.status_code}: "
                f"{_error_text(response)}"
            ) from None
        if not isinstance(result, list):
            raise SourceError(f"{self._where(query)} did not return a range matrix")
        return RangeAnswer(result, _warnings(self._response))


def _aware(ts: pd.Timestamp) -> datetime:
    return pd.Timestamp(ts).tz_localize("UTC").to_pydatetime()


def _warnings(response: requests.Response | None) -> list[str]:
    """The answer's ``warnings`` (Prometheus puts them after the data); parsed only if there."""
    if response is None or b'"warnings"' not in response.content:
        return []
    body = _json(response)
    return [str(w) for w in (body or {}).get("warnings") or []]


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_text(response: requests.Response, body: dict[str, Any] | None = None) -> str:
    """The API's own ``errorType: error`` when it sent one, else the start of the body."""
    body = body if body is not None else _json(response)
    if body and body.get("error"):
        return f"{body.get('errorType', 'error')}: {body['error']}"
    text = response.text.strip().replace("\n", " ")
    return text[:200] or response.reason or "no body"


def _short(exc: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without its long wrapper chain."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return text[:200]
