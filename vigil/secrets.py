"""Where secrets come from: the environment, or a secrets file kept outside the data dir.

Settings name secrets two ways: top-level secret settings (``llm_api_key``,
``embedding_api_key``, ``intake_token``) and ``*_env`` fields that name a variable
(``url_env = "SLACK_WEBHOOK"``, ``password_env = "PROM_PASSWORD"``). Both are looked up in
the environment first, then in the TOML file ``VIGIL_SECRETS_FILE`` names, a flat table of
strings (``llm_api_key = "sk-..."``, ``SLACK_WEBHOOK = "https://hooks..."``). The file is
refused when others may read it or when it lies inside the data dir, because the data dir
is what gets copied around (snapshots, backups, support bundles). Values never leave as
text except to the client that needs them; the UI only says whether one is set and where.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

SECRETS_FILE_ENV = "VIGIL_SECRETS_FILE"
MAX_SECRETS_BYTES = 1 << 20


class SecretsFileError(ValueError):
    """The secrets file cannot be used; the message says why and what to do."""


def secrets_file() -> Path | None:
    value = os.environ.get(SECRETS_FILE_ENV, "").strip()
    return Path(value) if value else None


def read_secrets(path: Path, data_dir: Path | None = None) -> dict[str, str]:
    """The file's name → value table, checked: a regular file, private to its owner,
    outside ``data_dir``, TOML with string values only."""
    if not path.is_file():
        raise SecretsFileError(f"secrets file {path} does not exist or is not a file")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsFileError(f"secrets file {path} can be read by others; "
                               f"chmod 600 {path}")  # fmt: skip
    if data_dir is not None and path.resolve().is_relative_to(Path(data_dir).resolve()):
        raise SecretsFileError(f"secrets file {path} is inside the data dir {data_dir}; "
                               "keep it outside, where backups do not copy it")  # fmt: skip
    if path.stat().st_size > MAX_SECRETS_BYTES:
        raise SecretsFileError(f"secrets file {path} is larger than 1 MiB")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # the parser's message quotes no value, only where it stopped
        raise SecretsFileError(f"secrets file {path} is not TOML: {exc}") from None
    bad = sorted(name for name, value in table.items() if not isinstance(value, str))
    if bad:
        raise SecretsFileError(f"secrets file {path}: {', '.join(bad)} must be strings "
                               '(name = "value")')  # fmt: skip
    return dict(table)


_cache: dict[tuple[Path, float, int], dict[str, str]] = {}


def file_secrets(data_dir: Path | None = None) -> dict[str, str]:
    """The secrets file's table (empty without one), read again only when it changes."""
    path = secrets_file()
    if path is None:
        return {}
    try:
        info = path.stat()
    except OSError:
        return read_secrets(path, data_dir)  # raises the clear error
    key = (path.resolve(), info.st_mtime, info.st_size)
    if key not in _cache:
        _cache.clear()
        _cache[key] = read_secrets(path, data_dir)
    return _cache[key]


def lookup(name: str, data_dir: Path | None = None) -> str | None:
    """A named secret: the environment variable, else the secrets file's entry."""
    value = os.environ.get(name)
    if value is not None:
        return value
    return file_secrets(data_dir).get(name)


def source_of(name: str, data_dir: Path | None = None) -> str | None:
    """Where a named secret comes from ("environment", "secrets file"), None when unset;
    what the settings page shows instead of the value."""
    if name in os.environ or f"VIGIL_{name.upper()}" in os.environ:
        return "environment"
    try:
        found = name in file_secrets(data_dir)
    except SecretsFileError:
        return None
    return "secrets file" if found else None


def resolve_named(model: object, fields: tuple[str, ...], owner: str) -> None:
    """Fill each ``field`` of a frozen settings model from the secret its ``<field>_env``
    names (environment, then the secrets file); ValueError naming ``owner`` when unset."""
    from pydantic import SecretStr

    for field in fields:
        name = getattr(model, f"{field}_env")
        if name:
            value = lookup(name)
            if value is None:
                raise ValueError(f"{owner}: {name} is not set")
            object.__setattr__(model, field, SecretStr(value))
