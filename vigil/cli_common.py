"""What the ``vigil`` commands share: options, output, and reaching the data dir or the
engine that holds it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.api_token import read_api_token
from vigil.errors import VigilError

if TYPE_CHECKING:
    from vigil.settings import Settings

console = Console(stderr=True)
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", "-d", help="Data directory (default: ./data).")
]
Comment = Annotated[str, typer.Option("--comment", "-c", help="What you found or did.")]
Author = Annotated[str | None, typer.Option("--author", help="Who (default: you).")]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def ask_engine(
    settings: Settings,
    held: str,
    path: str,
    what: str,
    *,
    post: bool = False,
    timeout: float,
    payload: dict | None = None,
) -> dict:
    """Ask the engine that holds the data dir, over its HTTP port; its JSON answer.

    ``held`` is the lock error that sent us here; ``what`` ("write a snapshot") is how a
    refusal is reported. Every failure is one line naming the cause.
    """
    import json
    import urllib.error
    import urllib.request

    if not settings.http_port:
        raise VigilError(f"{held}; its engine's HTTP port is off (http_port = 0)")
    url = f"http://{settings.http_host}:{settings.http_port}{path}"
    post = post or payload is not None
    body = json.dumps(payload).encode() if payload is not None else b"" if post else None
    headers = {"Content-Type": "application/json"}
    token = read_api_token(settings.data_dir)
    if token:  # the engine's POST endpoints need it; whoever can read the data dir has it
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method="POST" if post else "GET",
                                     headers=headers)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            reason = exc.reason
        raise VigilError(f"{held}; its engine could not {what}: {reason}") from None
    except (OSError, ValueError) as exc:
        raise VigilError(f"{held}; no engine answered at {url} ({exc})") from None
    if not isinstance(answer, dict):
        raise VigilError(f"{held}; the engine at {url} gave an answer Vigil cannot read")
    return answer


def here_or_engine(
    data_dir: Path | None,
    local: Callable[[Any, Settings], dict],
    path: str,
    what: str,
    *,
    payload: dict | None = None,
    post: bool = False,
    timeout: float = 30,
) -> dict:
    """``local(store, settings)`` on the data dir, or, while an engine holds it, the same
    answer from that engine's HTTP port (``path``); ``what`` names the action in errors."""
    from vigil.errors import DataDirLockedError
    from vigil.settings import load_settings
    from vigil.store import Store

    settings = load_settings(data_dir=data_dir)
    if not settings.db_path.exists():
        raise VigilError(f"no Vigil database in {settings.data_dir}; check --data-dir")
    try:
        store = Store.open(settings.data_dir)
    except DataDirLockedError as exc:
        return ask_engine(settings, str(exc), path, what, post=post, timeout=timeout,
                           payload=payload)  # fmt: skip
    try:
        return local(store, settings)
    finally:
        store.close()


MAX_RULE_FILE_BYTES = 5 * 2**20


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file of reasonable size, or one line saying what is wrong with it."""
    if not path.is_file():
        raise VigilError(f"{what} {path} does not exist or is not a file")
    if path.stat().st_size > MAX_RULE_FILE_BYTES:
        raise VigilError(f"{what} {path} is larger than {MAX_RULE_FILE_BYTES // 2**20} MiB")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        message = f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise VigilError(message) from None


def whoami() -> str:
    """The login name recorded as author when none is given (containers may have none)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
