"""``vigil notifications``: the outbox and its attempts, sending dead letters again, and a
test message through one receiver to check its settings."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from vigil.cli_common import Author, DataDir, here_or_engine, whoami

notify_app = typer.Typer(help="Notifications: outbox, attempts, test a receiver.",
                         no_args_is_help=True)  # fmt: skip


@notify_app.command("list")
def notifications_list(
    data_dir: DataDir = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="pending, sent, dead or skipped; repeatable."),
    ] = None,
    alert: Annotated[str | None, typer.Option("--alert", help="Only those listing it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object each.")] = False,
) -> None:
    """Notifications newest first, with every attempt to send each."""
    from urllib.parse import urlencode

    from rich.table import Table

    from vigil.notification_log import list_notifications

    statuses = list(status or [])
    query = urlencode([("status", s) for s in statuses] + ([("alert", alert)] if alert else []))
    answer = here_or_engine(
        data_dir,
        lambda store, _: {"notifications": list_notifications(store, statuses, alert)},
        f"/api/v1/notifications?{query}", "list notifications",
    )  # fmt: skip
    notes = answer.get("notifications", [])
    if as_json:
        for note in notes:
            print(json.dumps(note, ensure_ascii=False, sort_keys=True))
        return
    table = Table(title=f"{len(notes)} notifications", title_justify="left")
    for column in ("created", "receiver", "status", "attempts", "id", "last error"):
        table.add_column(column)
    for note in notes:
        table.add_row(note["created_at"], note["receiver"], note["status"],
                      str(note["attempts"]), note["notification_id"],
                      note["last_error"] or "")  # fmt: skip
    Console().print(table)


@notify_app.command("requeue")
def notifications_requeue(
    notification_id: Annotated[str, typer.Argument(help="A dead or skipped notification.")],
    data_dir: DataDir = None,
    by: Author = None,
) -> None:
    """Send a dead or skipped notification again (after fixing its receiver)."""
    from vigil.notification_log import requeue

    who = by or whoami()
    answer = here_or_engine(
        data_dir, lambda store, _: requeue(store, notification_id, who),
        "/api/v1/notifications/requeue", "requeue the notification",
        payload={"notification_id": notification_id, "by": who}, post=True,
    )  # fmt: skip
    print(f"{answer['notification_id']} is {answer['status']}")


@notify_app.command("test")
def notifications_test(
    receiver: Annotated[str, typer.Argument(help="A receiver's name from the settings.")],
) -> None:
    """Send a sample notification through one receiver now and say how it went."""
    from jobs.channels import build_channel
    from vigil.errors import VigilError
    from vigil.sample_notification import sample_payload
    from vigil.settings import load_settings

    settings = load_settings()
    found = [r for r in settings.receivers if r.name == receiver]
    if not found:
        names = ", ".join(r.name for r in settings.receivers) or "none are configured"
        raise VigilError(f"no receiver {receiver!r}; receivers: {names}")
    channel = build_channel(found[0], settings.language)
    result = channel.send("vigil-test", sample_payload(settings.external_url, receiver))
    if not result.ok:
        raise VigilError(f"{receiver}: {result.detail}")
    print(f"{receiver}: delivered ({result.detail or 'ok'})")
