"""Users, logins with lockout, sessions and wall tokens on a real store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from vigil import auth
from vigil.auth import LoginPolicy
from vigil.errors import LoginError, PermissionDenied, VigilError
from vigil.roles import ACTIONS, ROLES, Principal, require
from vigil.store import Store

POLICY = LoginPolicy(3, pd.Timedelta(minutes=15), pd.Timedelta(minutes=30))
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(tmp_path / "data")
    auth.add_user(store, "ada", PASSWORD, "operator", "test")
    yield store
    store.close()


def _every_text(store: Store) -> str:
    tables = [t for (t,) in store.cursor.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()]  # fmt: skip
    return "\n".join(store.df(f'SELECT * FROM "{t}"').to_csv() for t in tables)


def test_a_login_opens_a_session_that_survives_until_logout(store: Store) -> None:
    token = auth.login(store, "ada", PASSWORD, POLICY)
    assert auth.session_principal(store, token, POLICY) == Principal("ada", "operator")
    auth.logout(store, token)
    assert auth.session_principal(store, token, POLICY) is None
    actions = store.df("SELECT action FROM audit_log ORDER BY audit_id")["action"].tolist()
    assert actions == ["user.add", "login", "logout"]
    everything = _every_text(store)
    assert PASSWORD not in everything and token not in everything


def test_wrong_passwords_lock_the_user_and_say_nothing_more(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        with pytest.raises(LoginError, match=r"^wrong user name or password$"):
            auth.login(store, "ada", "not the password", POLICY)
    with pytest.raises(LoginError, match="too many failed logins"):
        auth.login(store, "ada", PASSWORD, POLICY)  # locked, even with the right password
    with pytest.raises(LoginError, match=r"^wrong user name or password$"):
        auth.login(store, "nobody", PASSWORD, POLICY)
    failed = store.df("SELECT actor, after FROM audit_log WHERE action = 'login.failed'")
    assert failed["actor"].tolist() == ["ada"] * 4 + ["nobody"]
    assert json.loads(failed["after"].iloc[2])["locked"] is True
    assert "not the password" not in _every_text(store) + caplog.text
    store.execute("UPDATE users SET locked_until = ? WHERE username = 'ada'",
                  [(pd.Timestamp.now() - pd.Timedelta(minutes=1)).to_pydatetime()])  # fmt: skip
    assert auth.login(store, "ada", PASSWORD, POLICY)  # the lock ran out


def test_idle_disabled_and_password_changes_end_sessions(store: Store) -> None:
    idle = auth.login(store, "ada", PASSWORD, POLICY)
    store.execute("UPDATE auth_sessions SET last_seen_at = last_seen_at - INTERVAL 31 MINUTE")
    assert auth.session_principal(store, idle, POLICY) is None
    live = auth.login(store, "ada", PASSWORD, POLICY)
    auth.change_user(store, "ada", "root", role="editor")
    assert auth.session_principal(store, live, POLICY) == Principal("ada", "editor")
    auth.change_user(store, "ada", "root", password="another long passphrase")
    assert auth.session_principal(store, live, POLICY) is None
    audit = store.df("SELECT before, after FROM audit_log WHERE action = 'user.change'")
    assert json.loads(audit["after"].iloc[1]) == {"password_hash": "***"}
    assert "another long passphrase" not in _every_text(store)
    auth.change_user(store, "ada", "root", disabled=True)
    with pytest.raises(LoginError):
        auth.login(store, "ada", "another long passphrase", POLICY)


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [("ada", PASSWORD, "viewer", "exists already"), ("bo b", PASSWORD, "viewer", "without spaces"),
     ("bob", "short", "viewer", "10 to 1024"), ("bob", PASSWORD, "root", "unknown role")],
)  # fmt: skip
def test_bad_users_are_refused_and_change_nothing(
    store: Store, name: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(VigilError, match=message):
        auth.add_user(store, name, password, role, "test")
    assert store.one("SELECT count(*) FROM users") == 1


def test_wall_tokens_show_the_wall_until_revoked(store: Store) -> None:
    token_id, token = auth.issue_wall_token(store, "NOC room 2", "root")
    assert auth.wall_principal(store, token) == Principal("wall:NOC room 2", "wall")
    assert auth.wall_principal(store, token + "x") is None
    assert token not in _every_text(store)
    auth.revoke_wall_token(store, token_id, "root")
    assert auth.wall_principal(store, token) is None
    with pytest.raises(VigilError, match="no active wall token"):
        auth.revoke_wall_token(store, token_id, "root")


def test_each_role_may_do_what_the_one_below_may_and_the_wall_nothing() -> None:
    for action, least in ACTIONS.items():
        for role in ROLES:
            allowed = ROLES.index(role) >= ROLES.index(least)
            assert Principal("u", role).may(action) is allowed, (action, role)
        assert not Principal("tv", "wall").may(action)
    with pytest.raises(PermissionDenied, match=r"ada is viewer; rules\.edit needs editor"):
        require(Principal("ada", "viewer"), "rules.edit")
    with pytest.raises(PermissionDenied, match="sign in first"):
        require(None, "alerts.acknowledge")


def test_the_first_admin_comes_from_settings_only_when_nobody_exists(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "fresh")
    try:
        assert auth.ensure_first_admin(store, "root", "a long admin password")
        assert not auth.ensure_first_admin(store, "other", "a long admin password")
        assert [u["username"] for u in auth.list_users(store)] == ["root"]
    finally:
        store.close()
