"""``vigil alerts`` and ``vigil silences``: list, acknowledge and resolve alerts, and mute
them; each works on the data dir or through the engine that holds it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from vigil.cli_common import Author, Comment, DataDir, here_or_engine, whoami

if TYPE_CHECKING:
    from vigil.settings import Settings

alerts_app = typer.Typer(help="Alerts: list, acknowledge, resolve.", no_args_is_help=True)


@alerts_app.command("list")
def alerts_list(
    data_dir: DataDir = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", help="pending, firing or resolved; repeat for several."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
) -> None:
    """List alerts, most recently active first; works while the engine runs, too."""
    import json
    from urllib.parse import urlencode

    from rich.table import Table

    from vigil.alert_list import check_states, list_alerts

    states = check_states(state or [])
    query = urlencode([("state", s) for s in states])
    answer = here_or_engine(
        data_dir,
        lambda store, settings: {
            "alerts": list_alerts(store, states, settings.parsed_inhibit_rules())
        },
        f"/api/v1/alerts?{query}", "list alerts",
    )  # fmt: skip
    alerts = list(answer.get("alerts", []))
    if as_json:
        for alert in alerts:
            print(json.dumps(alert, ensure_ascii=False, sort_keys=True))
        return
    table = Table(title=f"{len(alerts)} alerts", title_justify="left")
    for column in ("state", "severity", "service", "alert", "since", "value", "summary"):
        table.add_column(column)
    for alert in alerts:
        since = alert["fired_at"] or alert["active_at"]
        value = "" if alert["value"] is None else f"{alert['value']:.4g}"
        summary = alert["annotations"].get("summary", "")
        muted = " · silenced" if alert["silenced_by"] else ""
        muted += " · inhibited" if alert["inhibited_by"] else ""
        table.add_row(alert["state"] + muted, alert["severity"], alert["service"] or "",
                      alert["labels"].get("alertname", alert["rule_id"]), since, value,
                      summary)  # fmt: skip
    Console().print(table)


silences_app = typer.Typer(help="Silences: mute alerts by label matchers for a while.",
                           no_args_is_help=True)  # fmt: skip


def _silence_call(data_dir: Path | None, local: Callable[[Any], Any], path: str, what: str,
                  payload: dict | None = None) -> Any:  # fmt: skip
    """Run ``local(SilenceApi)`` on the data dir, or ask the engine that holds it."""
    from vigil.silences_store import SilenceApi

    return here_or_engine(data_dir, lambda store, _: local(SilenceApi(store)), path, what,
                           payload=payload)  # fmt: skip


@silences_app.command("add")
def silences_add(
    matchers: Annotated[
        list[str], typer.Argument(help='Label matchers: service="checkout" (=, !=, =~, !~).')
    ],
    data_dir: DataDir = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="End time (ISO, UTC).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Start time (default: now).")] = None,
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why.")] = "",
    author: Annotated[str | None, typer.Option("--author", help="Who (default: you).")] = None,
) -> None:
    """Mute every alert whose labels match all MATCHERS; works while the engine runs."""
    request = {"matchers": matchers, "duration": duration, "ends_at": until, "starts_at": start,
               "created_by": author or whoami(), "comment": comment}  # fmt: skip
    request = {k: v for k, v in request.items() if v is not None}
    silence = _silence_call(data_dir, lambda api: api.add(request), "/api/v1/silences",
                            "add the silence", payload=request)  # fmt: skip
    print(f"silence {silence['silence_id']} {silence['state']} until {silence['ends_at']}: "
          f"{', '.join(silence['matchers'])}")  # fmt: skip


@silences_app.command("expire")
def silences_expire(
    silence_id: Annotated[str, typer.Argument(help="The silence's id.")], data_dir: DataDir = None,
    author: Author = None,
) -> None:  # fmt: skip
    """End a silence now; it stays in the history."""
    who = author or whoami()
    silence = _silence_call(data_dir, lambda api: api.expire(silence_id, who),
                            "/api/v1/silences/expire", "expire the silence",
                            payload={"silence_id": silence_id, "by": who})  # fmt: skip
    print(f"silence {silence['silence_id']} expired at {silence['ends_at']}")


@silences_app.command("list")
def silences_list(
    data_dir: DataDir = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", help="pending, active or expired; repeat for several."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per silence.")] = False,
) -> None:
    """List silences, newest first, expired ones included unless --state says otherwise."""
    import json
    from urllib.parse import urlencode

    states = state or []
    answer = _silence_call(data_dir, lambda api: {"silences": api.list(states)},
                           f"/api/v1/silences?{urlencode([('state', s) for s in states])}",
                           "list silences")  # fmt: skip
    for silence in answer.get("silences", []):
        if as_json:
            print(json.dumps(silence, ensure_ascii=False, sort_keys=True))
        else:
            print(f"{silence['silence_id']}  {silence['state']:<8} {silence['starts_at']} → "
                  f"{silence['ends_at']}  {', '.join(silence['matchers'])}  "
                  f"({silence['created_by']}: {silence['comment']})")  # fmt: skip


def _alert_action(action: str, alert_id: str, data_dir: Path | None, comment: str,
                  author: str | None) -> None:  # fmt: skip
    from vigil.alert_actions import act_on_alert

    who = author or whoami()

    def local(store: Any, _: Settings) -> dict:
        act_on_alert(store, action, alert_id, who, comment)
        return {}

    here_or_engine(data_dir, local, f"/api/v1/alerts/{action}", f"{action} the alert",
                    payload={"alert_id": alert_id, "by": who, "comment": comment})  # fmt: skip
    print(f"alert {alert_id} {action}d by {who}")


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (vigil alerts list).")],
    data_dir: DataDir = None, comment: Comment = "", author: Author = None,
) -> None:  # fmt: skip
    """Acknowledge an open alert: you are on it. It keeps firing."""
    _alert_action("acknowledge", alert_id, data_dir, comment, author)


@alerts_app.command("resolve")
def alerts_resolve(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (vigil alerts list).")],
    data_dir: DataDir = None, comment: Comment = "", author: Author = None,
    cause: Annotated[str, typer.Option("--cause", help="What caused it (kept as a past "
                                       "incident the knowledge base learns from).")] = "",
    fix: Annotated[str, typer.Option("--fix", help="What fixed it.")] = "",
) -> None:  # fmt: skip
    """Resolve an open alert by hand; it stays resolved until its condition clears and
    returns. With --cause or --fix (also for an alert already resolved), the note is kept
    as a past incident, listed with its fix when a similar alert fires."""
    if not (cause.strip() or fix.strip()):
        _alert_action("resolve", alert_id, data_dir, comment, author)
        return
    from vigil.incident_notes import record_incident

    who = author or whoami()
    answer = here_or_engine(
        data_dir,
        lambda store, _: {"incident_id": record_incident(store, alert_id, who, cause, fix,
                                                         comment)},
        "/api/v1/alerts/note", "record the note",
        payload={"alert_id": alert_id, "by": who, "cause": cause, "fix": fix,
                 "comment": comment},
    )  # fmt: skip
    print(f"alert {alert_id} resolved by {who}; noted as incident {answer['incident_id']}")
