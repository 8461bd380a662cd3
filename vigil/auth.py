"""Local users, logins with lockout, browser sessions and wall tokens.

Passwords are hashed with bcrypt (after SHA-256, so a passphrase longer than bcrypt's
72 bytes still counts in full) and never stored, logged or audited in clear. A login
that fails says only that the name or password is wrong, takes as long for an unknown
name as for a wrong password, and after ``login_max_failures`` in a row locks the user
for ``login_lockout_minutes``. Sessions and wall tokens are random 256-bit tokens held by
the browser or TV; only their SHA-256 is stored, so a copy of the database opens nothing.
A session ends on logout, when its user is disabled, or after ``session_idle_minutes``
without a request. Every change here and every login, failed or not, is audited.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pandas as pd

from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import LoginError, VigilError
from vigil.roles import WALL, Principal, check_role
from vigil.store import Store

BCRYPT_ROUNDS = 12
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_NAME = 64
TOUCH_EVERY = pd.Timedelta(seconds=60)  # how often a live session's last_seen is written


@dataclass(frozen=True)
class LoginPolicy:
    """From settings: failures before a lockout, its length, and a session's idle limit."""

    max_failures: int
    lockout: pd.Timedelta
    idle: pd.Timedelta


@functools.cache
def _dummy_hash() -> str:
    return hash_password("an unknown user's check costs the same")


def _prepared(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str) -> str:
    return bcrypt.hashpw(_prepared(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def _matches(password: str, stored: str) -> bool:
    try:
        return bcrypt.checkpw(_prepared(password), stored.encode())
    except ValueError:
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable() or name != name.split()[0]:
        raise VigilError(f"a user name is 1 to {MAX_NAME} printable characters without spaces")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise VigilError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return password


# -- users ------------------------------------------------------------------------------------


def has_users(store: Store) -> bool:
    return bool(store.one("SELECT count(*) FROM users"))


def add_user(store: Store, name: str, password: str, role: str, by: str) -> None:
    """A new user; an existing name, a bad role or a short password changes nothing."""
    name, role = check_name(name), check_role(role)
    hashed = hash_password(check_password(password))
    if store.one("SELECT count(*) FROM users WHERE username = ?", [name]):
        raise VigilError(f"user {name} exists already")
    with store.transaction() as cur:
        cur.execute("INSERT INTO users (username, password_hash, role, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    [name, hashed, role, utc_now().to_pydatetime()])  # fmt: skip
        record(cur, by, "user.add", name, None, {"role": role})


def _user(store: Store, name: str) -> pd.Series | None:
    rows = store.df("SELECT username, password_hash, role, disabled, failed_logins, "
                    "locked_until FROM users WHERE username = ?", [name])  # fmt: skip
    return None if rows.empty else rows.iloc[0]


def change_user(
    store: Store, name: str, by: str, *, role: str | None = None, password: str | None = None,
    disabled: bool | None = None,
) -> None:  # fmt: skip
    """Change a user's role, password or disabled flag (audited; the password masked).
    Disabling a user or changing the password ends their sessions."""
    before = _user(store, name)
    if before is None:
        raise VigilError(f"no user {name}")
    updates: dict[str, object] = {}
    if role is not None:
        updates["role"] = check_role(role)
    if password is not None:
        updates["password_hash"] = hash_password(check_password(password))
        updates["failed_logins"], updates["locked_until"] = 0, None
    if disabled is not None:
        updates["disabled"] = bool(disabled)
    if not updates:
        return
    shown = {k: ("***" if k == "password_hash" else v) for k, v in updates.items()
             if k not in ("failed_logins", "locked_until")}  # fmt: skip
    was = {k: ("***" if k == "password_hash" else before[k]) for k in shown}
    with store.transaction() as cur:
        assignments = ", ".join(f"{k} = ?" for k in updates)
        cur.execute(f"UPDATE users SET {assignments} WHERE username = ?",
                    [*updates.values(), name])  # fmt: skip
        if password is not None or disabled:
            cur.execute("UPDATE auth_sessions SET revoked_at = ? WHERE username = ? "
                        "AND revoked_at IS NULL", [utc_now().to_pydatetime(), name])  # fmt: skip
        record(cur, by, "user.change", name, was, shown)


def list_users(store: Store) -> list[dict[str, object]]:
    frame = store.df("SELECT username, role, disabled, failed_logins, locked_until, "
                     "last_login_at, created_at FROM users ORDER BY username")  # fmt: skip
    return frame.to_dict("records")


# -- logins and sessions ----------------------------------------------------------------------


def login(store: Store, name: str, password: str, policy: LoginPolicy) -> str:
    """A new session token for a correct name and password; LoginError otherwise."""
    now = utc_now()
    user = _user(store, name.strip()) if name.strip() else None
    if user is None:
        _matches(password, _dummy_hash())  # as slow as a real check
        _audit(store, name.strip()[:MAX_NAME] or "?", "login.failed", "unknown user")
        raise LoginError("wrong user name or password")
    locked = user["locked_until"]
    if not pd.isna(locked) and pd.Timestamp(locked) > now:
        _audit(store, user["username"], "login.failed", "locked")
        raise LoginError(f"too many failed logins; try again after "
                         f"{pd.Timestamp(locked):%H:%M} UTC")  # fmt: skip
    if not _matches(password, user["password_hash"]) or bool(user["disabled"]):
        _failed(store, user, now, policy)
        raise LoginError("wrong user name or password")
    token = secrets.token_urlsafe(32)
    with store.transaction() as cur:
        cur.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, "
                    "last_login_at = ? WHERE username = ?",
                    [now.to_pydatetime(), user["username"]])  # fmt: skip
        cur.execute("INSERT INTO auth_sessions VALUES (?, ?, ?, ?, NULL)",
                    [token_hash(token), user["username"], now.to_pydatetime(),
                     now.to_pydatetime()])  # fmt: skip
        record(cur, user["username"], "login", user["username"])
    return token


def _failed(store: Store, user: pd.Series, now: pd.Timestamp, policy: LoginPolicy) -> None:
    failures = int(user["failed_logins"] or 0) + 1
    lock = (now + policy.lockout).to_pydatetime() if failures >= policy.max_failures else None
    with store.transaction() as cur:
        cur.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                    [0 if lock else failures, lock, user["username"]])  # fmt: skip
        reason = "disabled" if bool(user["disabled"]) else "wrong password"
        record(cur, user["username"], "login.failed", user["username"], None,
               {"reason": reason, "failures": failures, "locked": lock is not None})  # fmt: skip


def _audit(store: Store, actor: str, action: str, reason: str) -> None:
    with store.transaction() as cur:
        record(cur, actor, action, actor, None, {"reason": reason})


def session_principal(store: Store, token: str | None, policy: LoginPolicy) -> Principal | None:
    """Who holds this session token, or None (unknown, revoked, idle too long, disabled)."""
    if not token:
        return None
    now = utc_now()
    rows = store.df("SELECT s.username, s.last_seen_at, u.role, u.disabled FROM auth_sessions s "
                    "JOIN users u USING (username) WHERE s.token_hash = ? "
                    "AND s.revoked_at IS NULL", [token_hash(token)])  # fmt: skip
    if rows.empty:
        return None
    row = rows.iloc[0]
    last = pd.Timestamp(row["last_seen_at"])
    if bool(row["disabled"]) or now - last > policy.idle:
        return None
    if now - last > TOUCH_EVERY:
        store.execute("UPDATE auth_sessions SET last_seen_at = ? WHERE token_hash = ?",
                      [now.to_pydatetime(), token_hash(token)])  # fmt: skip
    return Principal(str(row["username"]), str(row["role"]))


def logout(store: Store, token: str | None) -> None:
    if not token:
        return
    with store.transaction() as cur:
        found = cur.execute("UPDATE auth_sessions SET revoked_at = ? WHERE token_hash = ? "
                            "AND revoked_at IS NULL RETURNING username",
                            [utc_now().to_pydatetime(), token_hash(token)]).fetchall()  # fmt: skip
        if found:
            record(cur, found[0][0], "logout", found[0][0])


# -- wall tokens ------------------------------------------------------------------------------


def issue_wall_token(store: Store, label: str, by: str) -> tuple[str, str]:
    """(token id, token) for a TV; the token is shown this once and stored hashed."""
    label = label.strip()
    if not label or len(label) > 100:
        raise VigilError("name the wall (1 to 100 characters), e.g. the NOC room")
    token_id, token = secrets.token_hex(4), "vw_" + secrets.token_urlsafe(32)
    with store.transaction() as cur:
        now = utc_now().to_pydatetime()
        cur.execute("INSERT INTO wall_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                    [token_id, token_hash(token), label, by, now])  # fmt: skip
        record(cur, by, "token.issue", token_id, None, {"label": label})
    return token_id, token


def revoke_wall_token(store: Store, token_id: str, by: str) -> None:
    with store.transaction() as cur:
        found = cur.execute("UPDATE wall_tokens SET revoked_at = ? WHERE token_id = ? "
                            "AND revoked_at IS NULL RETURNING label",
                            [utc_now().to_pydatetime(), token_id]).fetchall()  # fmt: skip
        if not found:
            raise VigilError(f"no active wall token {token_id}")
        record(cur, by, "token.revoke", token_id, {"label": found[0][0]}, None)


def wall_principal(store: Store, token: str | None) -> Principal | None:
    if not token:
        return None
    label = store.one("SELECT label FROM wall_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                      [token_hash(token)])  # fmt: skip
    return None if label is None else Principal(f"wall:{label}", WALL)


def list_wall_tokens(store: Store) -> list[dict[str, object]]:
    return store.df("SELECT token_id, label, created_by, created_at, revoked_at "
                    "FROM wall_tokens ORDER BY created_at DESC").to_dict("records")  # fmt: skip


def ensure_first_admin(store: Store, name: str, password: str | None) -> bool:
    """Create the first admin from settings when nobody can sign in yet; True if made."""
    if not password or has_users(store):
        return False
    add_user(store, name, password, "admin", "first start")
    return True


INITIAL_PASSWORD_FILE = "initial-admin-password"


def create_initial_admin(store: Store, data_dir: Path, name: str = "admin") -> Path | None:
    """On an interactive first start with nobody to sign in as: an admin with a random
    password, written to a file in the data dir that only its owner can read (where the
    console tells the person who started Vigil to look). None when users exist."""
    if has_users(store):
        return None
    password = secrets.token_urlsafe(12)
    add_user(store, name, password, "admin", "first start")
    path = Path(data_dir) / INITIAL_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return path


def initial_admin_hint(store: Store, data_dir: Path) -> Path | None:
    """The initial password file while its admin has not signed in yet."""
    path = Path(data_dir) / INITIAL_PASSWORD_FILE
    if not path.exists():
        return None
    fresh = store.one("SELECT count(*) FROM users WHERE last_login_at IS NOT NULL")
    return None if fresh else path
