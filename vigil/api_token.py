"""The engine's API token: what the HTTP port's POST endpoints (acknowledge, silence,
snapshot, backup, ask ...) require, so that reaching the port is not enough to change
anything.

The engine writes a random token to ``<data dir>/api-token``, readable only by its owner,
at start. The ``vigil`` commands run by the same user read it from there when they ask
the engine (filesystem access to the data dir is what lets them act on it directly
anyway); nothing else can. Alertmanager's webhook has its own token (``intake_token``).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "api-token"


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def ensure_api_token(data_dir: Path) -> str:
    """The data dir's token, created (mode 0600) when missing or empty."""
    path = token_path(data_dir)
    existing = read_api_token(data_dir)
    if existing:
        return existing
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return token


def read_api_token(data_dir: Path) -> str | None:
    try:
        token = token_path(data_dir).read_text().strip()
    except OSError:
        return None
    return token or None


def authorized(header: str | None, token: str | None) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
