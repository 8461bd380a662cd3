"""Signing in with a real browser: the login form, a session that survives a reload,
signing out, and a TV showing the wall with a wall token and no login."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import need_binary
from tests.ui.browser import DevTools, headless_chromium, open_page, streamlit, wait_for
from tests.ui.conftest import make_seeded
from vigil import auth
from vigil.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORD = "operator passphrase 42"


def _shows(devtools: DevTools, text: str, what: str, timeout: float = 40) -> None:
    check = f"document.body.innerText.includes({text!r})"
    wait_for(lambda: devtools.evaluate(check), timeout, what)


def _type(devtools: DevTools, label: str, text: str) -> None:
    field = (
        f"[...document.querySelectorAll('[data-testid=stTextInput]')]"
        f".find(d => d.innerText.includes({label!r}))?.querySelector('input')"
    )
    wait_for(lambda: devtools.evaluate(f"!!{field}"), 30, f"the {label} field")
    devtools.evaluate(f"{field}.focus()")
    devtools.call("Input.insertText", text=text)


def _click(devtools: DevTools, label: str) -> None:
    button = f"[...document.querySelectorAll('button')].find(b => b.innerText.trim() === {label!r})"
    wait_for(lambda: devtools.evaluate(f"!!({button})"), 30, f"the {label} button")
    devtools.evaluate(f"({button}).click()")


def test_a_login_lasts_across_reloads_until_sign_out_and_a_tv_needs_none(tmp_path) -> None:
    binary = need_binary("chromium")
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    store = Store.open(seeded.data_dir)
    try:
        auth.add_user(store, "ada", PASSWORD, "operator", "test")
        _, wall_token = auth.issue_wall_token(store, "NOC", "test")
    finally:
        store.close()
    with (
        streamlit(seeded.data_dir, tmp_path, signed_in=False) as url,
        headless_chromium(binary, tmp_path) as devtools,
    ):
        open_page(devtools, f"{url}/?lang=en")
        _shows(devtools, "Sign in to Vigil", "the login page")
        assert not devtools.evaluate("document.body.innerText.includes('checkout')")
        _type(devtools, "User name", "ada")
        _type(devtools, "Password", PASSWORD)
        _click(devtools, "Sign in")
        _shows(devtools, "Signed in as ada (operator)", "the signed-in sidebar")
        wait_for(lambda: "vigil_session=" in str(devtools.evaluate("document.cookie")), 20,
                 "the session cookie")  # fmt: skip
        devtools.call("Page.reload")
        _shows(devtools, "Signed in as ada (operator)", "still signed in after a reload")
        _click(devtools, "Sign out")
        _shows(devtools, "Sign in to Vigil", "the login page after signing out")
        devtools.call("Page.reload")
        _shows(devtools, "Sign in to Vigil", "still signed out after a reload")
        open_page(devtools, f"{url}/?kiosk=1&view=health&token={wall_token}")
        _shows(devtools, "checkout", "the wall on a TV with a wall token")
        assert not devtools.evaluate("document.body.innerText.includes('Sign in to Vigil')")
    store = Store.open(seeded.data_dir)
    try:
        actions = store.df("SELECT action FROM audit_log WHERE actor = 'ada' ORDER BY audit_id")
    finally:
        store.close()
    assert actions["action"].tolist() == ["login", "logout"]
