"""``vigil user`` and ``vigil wall-token``: who may sign in, and which TVs may show the wall.

Whoever can run these on the data dir can read the database anyway, so they need no
login; while an engine holds the data dir they refuse with the holder's name (stop it,
or use the Users page as an admin).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli_common import Author, DataDir, whoami
from vigil.errors import VigilError

user_app = typer.Typer(help="Users who may sign in to the app, and their roles.",
                       no_args_is_help=True)  # fmt: skip
token_app = typer.Typer(help="Read-only wall tokens for TVs: ?kiosk=1&token=...",
                        no_args_is_help=True)  # fmt: skip
PasswordStdin = Annotated[bool, typer.Option("--password-stdin",
                          help="Read the password from standard input.")]  # fmt: skip


def _on_store(data_dir: Path | None, action: Any) -> Any:
    from vigil.settings import load_settings
    from vigil.store import Store

    settings = load_settings(data_dir=data_dir)
    store = Store.open(settings.data_dir)
    try:
        return action(store)
    finally:
        store.close()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise VigilError("the two passwords differ")
    return first


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option("--role", "-r", help="viewer, operator, editor or admin.")],
    data_dir: DataDir = None, password_stdin: PasswordStdin = False, author: Author = None,
) -> None:  # fmt: skip
    """Add a user (the first admin too); the password is asked for, never an argument."""
    from vigil.auth import add_user

    password = _password(password_stdin)
    _on_store(data_dir, lambda store: add_user(store, name, password, role, author or whoami()))
    print(f"user {name} added as {role.strip().lower()}")


@user_app.command("list")
def user_list(data_dir: DataDir = None) -> None:
    """Every user with role, lock and last login."""
    from vigil.auth import list_users

    table = Table("user", "role", "disabled", "locked until", "last login")
    for user in _on_store(data_dir, list_users):
        cells = ("username", "role", "disabled", "locked_until", "last_login_at")
        table.add_row(*(str(user[c]) if user[c] is not None else "" for c in cells))
    Console().print(table)


@user_app.command("set")
def user_set(
    name: Annotated[str, typer.Argument(help="User name.")],
    data_dir: DataDir = None,
    role: Annotated[str | None, typer.Option("--role", help="A new role.")] = None,
    password: Annotated[bool, typer.Option("--password", help="Set a new password.")] = False,
    disable: Annotated[bool | None, typer.Option("--disable/--enable",
                       help="Disable (ends sessions) or enable.")] = None,
    password_stdin: PasswordStdin = False, author: Author = None,
) -> None:  # fmt: skip
    """Change a user's role, password or whether they may sign in."""
    from vigil.auth import change_user

    secret = _password(password_stdin) if password or password_stdin else None
    _on_store(data_dir, lambda store: change_user(store, name, author or whoami(), role=role,
                                                  password=secret, disabled=disable))  # fmt: skip
    print(f"user {name} changed")


@token_app.command("issue")
def token_issue(
    label: Annotated[str, typer.Argument(help="Which wall, e.g. 'NOC room 2'.")],
    data_dir: DataDir = None, author: Author = None,
) -> None:  # fmt: skip
    """A token a TV opens the wall with; printed once, stored only hashed."""
    from vigil.auth import issue_wall_token

    token_id, token = _on_store(data_dir, lambda s: issue_wall_token(s, label, author or whoami()))
    print(f"wall token {token_id} for {label}: open /wall?kiosk=1&token={token}")


@token_app.command("list")
def token_list(data_dir: DataDir = None) -> None:
    from vigil.auth import list_wall_tokens

    table = Table("id", "wall", "issued by", "issued", "revoked")
    for row in _on_store(data_dir, list_wall_tokens):
        table.add_row(str(row["token_id"]), str(row["label"]), str(row["created_by"]),
                      str(row["created_at"]), str(row["revoked_at"] or ""))  # fmt: skip
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (vigil wall-token list).")],
    data_dir: DataDir = None, author: Author = None,
) -> None:  # fmt: skip
    """Revoke a wall token: the TV showing it asks for a login at its next refresh."""
    from vigil.auth import revoke_wall_token

    _on_store(data_dir, lambda store: revoke_wall_token(store, token_id, author or whoami()))
    print(f"wall token {token_id} revoked")
