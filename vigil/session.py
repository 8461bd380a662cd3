"""Signing in to the app: who this browser session is, the login form, and the cookie
that keeps a login across a browser refresh.

A login's random token goes into a cookie (``SameSite=Strict``, set from a same-origin
script because Streamlit has no server-side cookie call) and into the session state; each
run checks it again (:func:`vigil.auth.session_principal`), so a logout, a disabled user
or an idle timeout takes effect at the next click. A TV shows the wall with
``?kiosk=1&token=...`` (a wall token) and no login.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st
import streamlit.components.v1 as components

from vigil import auth
from vigil.errors import LoginError
from vigil.i18n import t
from vigil.roles import Principal

if TYPE_CHECKING:
    from vigil.engine import Engine

PRINCIPAL_KEY = "vigil_principal"
TOKEN_KEY = "vigil_session_token"
COOKIE = "vigil_session"
COOKIE_PENDING_KEY = "vigil_cookie_pending"


def current_principal() -> Principal | None:
    """Who this session is signed in as (set by :func:`resolve_principal`)."""
    return st.session_state.get(PRINCIPAL_KEY)


def _cookie_script(value: str, max_age: int) -> None:
    cookie = f"{COOKIE}={value}; path=/; max-age={max_age}; SameSite=Strict"
    components.html(f"<script>window.parent.document.cookie = {json.dumps(cookie)};</script>",
                    height=0)  # fmt: skip


def _cookie() -> str | None:
    """The login cookie, when the browser sent one (a test harness may send none)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except (AttributeError, RuntimeError):
        return None
    return value if isinstance(value, str) and value else None


def resolve_principal(engine: Engine, kiosk: bool) -> Principal | None:
    """The principal of this run: a wall token on a kiosk, the session's login, or the
    login cookie of an earlier one; None when nobody is signed in."""
    store, policy = engine.store, engine.settings.login_policy()
    wall_token = st.query_params.get("token")
    if kiosk and wall_token:
        principal = auth.wall_principal(store, wall_token)
        st.session_state[PRINCIPAL_KEY] = principal
        return principal
    token = st.session_state.get(TOKEN_KEY) or _cookie()
    if token:
        principal = auth.session_principal(store, token, policy)
        st.session_state[PRINCIPAL_KEY] = principal
        st.session_state[TOKEN_KEY] = token if principal else None
        return principal
    principal = st.session_state.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) and principal.role != "wall" else None


def login_form(engine: Engine, lang: str) -> None:
    """The login page, or how to create the first user when there is none."""
    st.title(t("login.title", lang))
    if st.query_params.get("token"):
        st.error(t("login.bad_wall_token", lang))
    if not auth.has_users(engine.store):
        st.warning(t("login.no_users", lang))
        st.code(f"vigil user add admin --role admin --data-dir {engine.settings.data_dir}")
        st.caption(t("login.no_users_env", lang))
        return
    hint = auth.initial_admin_hint(engine.store, engine.settings.data_dir)
    if hint is not None:
        st.info(t("login.first", lang, user=engine.settings.admin_user, path=hint))
    with st.form("login"):
        name = st.text_input(t("login.user", lang), key="login_user")
        password = st.text_input(t("login.password", lang), type="password", key="login_pw")
        submitted = st.form_submit_button(t("login.submit", lang))
    if not submitted:
        return
    try:
        token = auth.login(engine.store, name, password, engine.settings.login_policy())
    except LoginError as exc:
        st.error(str(exc))
        return
    st.session_state[TOKEN_KEY] = token
    st.session_state[PRINCIPAL_KEY] = auth.session_principal(
        engine.store, token, engine.settings.login_policy())  # fmt: skip
    # the cookie is written by the next run's page: a rerun now would discard the script
    st.session_state[COOKIE_PENDING_KEY] = (token, engine.settings.session_idle_minutes * 180)
    st.rerun()


def logout_button(engine: Engine, lang: str) -> None:
    principal = current_principal()
    if principal is None or principal.role == "wall":
        return
    st.sidebar.caption(t("login.signed_in", lang, user=principal.name,
                         role=t(f"role.{principal.role}", lang)))  # fmt: skip
    if st.sidebar.button(t("login.logout", lang), key="logout"):
        auth.logout(engine.store, st.session_state.get(TOKEN_KEY))
        st.session_state[PRINCIPAL_KEY] = None
        st.session_state[TOKEN_KEY] = None
        st.session_state[COOKIE_PENDING_KEY] = ("", 0)
        st.rerun()


def write_pending_cookie() -> None:
    """Set (or clear) the login cookie a login or logout of the previous run asked for; a
    run that goes on to draw its page keeps the script long enough for the browser."""
    pending = st.session_state.pop(COOKIE_PENDING_KEY, None)
    if pending is not None:
        _cookie_script(*pending)
