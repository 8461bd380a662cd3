"""Settings: the values Vigil runs with, read-only, and a connection test for each endpoint.

Settings come from ``VIGIL_*`` environment variables and ``vigil.toml``; this page shows
the effective values, so nobody has to guess which source won, and names the variable
and TOML key that change each. Secrets are never shown, not even in part: only whether
each is set, and receivers' URLs (which carry robot tokens) only as scheme://host. Each
test button makes one real request through ``vigil.connection_checks`` and shows what
answered or the exact error; a receiver's sends a real sample notification.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pandas as pd
import streamlit as st
from pydantic import SecretStr

from analytics.routing import Route
from jobs.channels._http import origin
from vigil import connection_checks as checks
from vigil.connection_checks import Check, shown_url
from vigil.engine import get_engine
from vigil.errors import PermissionDenied
from vigil.i18n import LANG_STATE_KEY, t
from vigil.notify_settings import Receiver, secret_text
from vigil.page_shell import ensure_shell
from vigil.roles import require
from vigil.secrets import source_of
from vigil.session import current_principal
from vigil.settings import PrometheusEndpoint

ensure_shell("settings")
try:  # settings hold where secrets live and which endpoints are trusted: admins only
    require(current_principal(), "settings.view")
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()
engine = get_engine()
settings = engine.settings
lang: str = st.session_state.get(LANG_STATE_KEY, settings.language)
RESULTS_KEY = "settings_checks"  # test outcomes, kept while other buttons are pressed
GENERAL = ("data_dir", "language", "external_url", "step_seconds", "pull_interval_seconds",
           "evaluate_interval_seconds", "refit_interval_seconds", "training_days",
           "retention_days", "stale_after_seconds", "scheduler_enabled")  # fmt: skip
SOURCES = ("demo_enabled", "demo_seed", "host_enabled", "prometheus_url")
NOTIFY = ("group_by", "group_wait_seconds", "group_interval_seconds", "repeat_interval_seconds",
          "send_resolved", "intake_token", "forward_interval_seconds")  # fmt: skip
LLM = ("llm_base_url", "llm_model", "llm_api_key", "llm_timeout_seconds")
CREDENTIALS = {"webhook": ("url", "bearer_token"), "slack": ("url",), "wecom": ("url",),
               "dingtalk": ("url", "secret"), "feishu": ("url", "secret"),
               "email": ("smtp_password",)}  # fmt: skip


def _is(value: object, name: str | None = None) -> str:
    if not value:
        return t("settings.not_set", lang)
    where = source_of(name, settings.data_dir) if name else None
    return t("settings.set", lang) + (f" ({t(f'settings.from.{where}', lang)})" if where else "")


def _value(name: str) -> str:
    value = getattr(settings, name)
    if isinstance(value, SecretStr) or "SecretStr" in str(
        type(settings).model_fields[name].annotation
    ):
        return _is(value, name)
    if value is None or value == ():
        return "—"
    if name.endswith("_url") and name != "external_url":
        return shown_url(value)
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _frame(rows: list[dict[str, object]]) -> None:
    if not rows:
        st.info(t("settings.none", lang))
        return
    frame = pd.DataFrame(rows).astype(str)
    named = frame.rename(columns=lambda c: t(f"settings.col.{c}", lang))
    st.dataframe(named, hide_index=True, height="content")


def _table(names: tuple[str, ...]) -> None:
    _frame([{"key": n, "value": _value(n), "env": f"VIGIL_{n.upper()}"} for n in names])


def _tester(key: str, label: str, run: Callable[[], Check], disabled: bool = False) -> None:
    """A test button; its outcome stays shown until the same test runs again."""
    results = st.session_state.setdefault(RESULTS_KEY, {})
    if st.button(label, key=f"settings_test_{key}", disabled=disabled):
        with st.spinner(t("settings.testing", lang)):
            results[key] = run()
    check = results.get(key)
    if check is not None:
        show = st.success if check.ok else st.error
        show(t("settings.ok" if check.ok else "settings.failed", lang, detail=check.detail))


def _auth(point: PrometheusEndpoint) -> str:
    if point.bearer_token is not None:
        return t("settings.auth.bearer", lang)
    if point.username is not None:
        return t("settings.auth.basic", lang, user=point.username, password=_is(point.password))
    return t("settings.auth.none", lang)


def _sources() -> None:
    _table(SOURCES)
    st.subheader(t("settings.prometheus", lang))
    points = settings.prometheus_endpoints()
    _frame([{"name": p.name, "url": shown_url(p.url), "auth": _auth(p),
             "tls": p.tls_verify, "headers": ", ".join(p.headers) or "—",
             "queries": len(p.queries) or t("settings.default_queries", lang),
             "step": p.step_seconds, "timeout": p.timeout_seconds} for p in points])  # fmt: skip
    for i, point in enumerate(points):
        test = partial(checks.check_prometheus, point)
        _tester(f"prom_{i}", t("settings.test", lang, name=point.name), test)


def _receiver_row(r: Receiver) -> dict[str, object]:
    where = f"{r.smtp_host}:{r.smtp_port}" if r.type == "email" else origin(secret_text(r.url))
    credentials = ", ".join(f"{f}: {_is(getattr(r, f))}" for f in CREDENTIALS[r.type])
    return {"name": r.name, "type": r.type, "language": r.language or settings.language,
            "rate": r.rate_limit_per_minute, "address": where,
            "credentials": credentials}  # fmt: skip


def _routes(route: Route, depth: int = 0) -> Iterator[dict[str, object]]:
    matchers = ", ".join(map(str, route.matchers)) or t("settings.route.all", lang)
    policy = route.policy
    yield {"route": "\u2003" * depth + ("↳ " if depth else "") + matchers,
           "receiver": route.receiver, "continue": "✓" if route.continue_ else "",
           "group_by": ", ".join(policy.group_by) or "—",
           "timers": f"{policy.group_wait_seconds}s / {policy.group_interval_seconds}s / "
                     f"{policy.repeat_interval_seconds}s",
           "mute": ", ".join(route.mute_time_intervals),
           "active": ", ".join(route.active_time_intervals)}  # fmt: skip
    for child in route.routes:
        yield from _routes(child, depth + 1)


def _notifications() -> None:
    _table(NOTIFY)
    st.subheader(t("settings.receivers", lang))
    _frame([_receiver_row(r) for r in settings.receivers])
    for r in settings.receivers:
        test = partial(checks.check_receiver, r, settings.external_url, settings.language)
        _tester(f"rcv_{r.name}", t("settings.send_test", lang, name=r.name), test)
    st.subheader(t("settings.route", lang))
    if settings.route is None:
        st.caption(t("settings.route.default", lang))
    _frame(list(_routes(settings.routing_tree())))
    st.subheader(t("settings.alertmanagers", lang))
    _frame([{"url": shown_url(a.url), "token": _is(a.bearer_token), "timeout": a.timeout_seconds}
            for a in settings.alertmanagers])  # fmt: skip
    for i, target in enumerate(settings.alertmanagers):
        test = partial(checks.check_alertmanager, target)
        _tester(f"am_{i}", t("settings.test", lang, name=shown_url(target.url)), test)


def _llm() -> None:
    _table(LLM)
    test = partial(checks.check_llm, settings.llm_base_url, settings.llm_model,
                   settings.llm_api_key, settings.llm_timeout_seconds)  # fmt: skip
    _tester("llm", t("settings.test", lang, name=settings.llm_model), test,
            disabled=not settings.llm_base_url)  # fmt: skip


st.title(t("settings.title", lang))
st.info(t("settings.where", lang))
tabs = ("settings.general", "settings.sources", "settings.notifications", "settings.llm")
for tab, (hint, render) in zip(st.tabs([t(k, lang) for k in tabs]), (
    ("settings.where.general", lambda: _table(GENERAL)), ("settings.where.sources", _sources),
    ("settings.where.notifications", _notifications), ("settings.where.llm", _llm),
), strict=True):  # fmt: skip
    with tab:
        st.caption(t(hint, lang))
        render()
