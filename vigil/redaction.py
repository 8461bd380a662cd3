"""The effective settings with every secret reduced to "set" or "unset".

Backups travel (to object storage, to a colleague, into a ticket), so they carry the
settings that shaped the data, never a credential. A value is a secret when it is a
``SecretStr`` or when its field's name says so (it ends in key or token, or has password,
secret or authorization in it); header values count as secrets too, since they usually
carry one, and so do the credentials of a URL (``https://user:pw@host``). Over-redacting
a harmless field costs nothing; leaking a key costs a rotation.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretStr

from vigil.settings import Settings

_SECRET_WORDS = frozenset({"password", "passwd", "secret", "authorization", "credentials"})
_SECRET_ENDINGS = frozenset({"key", "apikey", "token"})  # llm_api_key, not token_budget
_SECRET_CONTAINERS = frozenset({"headers"})
SET, UNSET = "set", "unset"
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)  # https://user:pw@host


def redacted_settings(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain JSON-ready data, secrets replaced by ``"set"`` / ``"unset"``."""
    return _redact(settings, secret=False)


def _redact(value: Any, secret: bool) -> Any:
    if secret or isinstance(value, SecretStr):
        return SET if _is_set(value) else UNSET
    if isinstance(value, BaseModel):
        return {name: _field(name, getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {str(k): _field(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(v, secret=False) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, str):
        return _USERINFO.sub(r"\1set@", value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def _field(name: str, value: Any) -> Any:
    # ``*_env`` fields name a variable, not its value: the name is safe and useful
    if name.endswith("_env"):
        return _redact(value, secret=False)
    if name in _SECRET_CONTAINERS and isinstance(value, dict):
        return {str(k): SET if _is_set(v) else UNSET for k, v in value.items()}
    return _redact(value, secret=is_secret_name(name))


def is_secret_name(name: str) -> bool:
    """A name that says it holds a secret: ``smtp_password``, ``llm_api_key``, ``token``."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    return bool(_SECRET_WORDS.intersection(words)) or words[-1] in _SECRET_ENDINGS


def _is_set(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return value not in (None, "", (), [], {})
