"""``vigil rca``: the likeliest root causes of an alert or of a moment, ranked, on the data
dir or through the engine that holds it."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli_common import DataDir, here_or_engine


def rca(
    alert: Annotated[str | None, typer.Option("--alert", "-a", help="An alert's id.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="A time: ISO (UTC unless it says), -30m, now.")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", help="Only this service and what it depends on."),
    ] = None,
    lookback: Annotated[
        str, typer.Option("--lookback", help="How far back the window reaches: 30m, 1h, 2h.")
    ] = "1h",
    # text, checked by rca_from_query: "0" or "abc" gets its one-line error, not a trace
    limit: Annotated[str, typer.Option("--limit", "-n", help="Services to list.")] = "10",
    as_json: Annotated[bool, typer.Option("--json", help="The whole ranking as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Rank the services and series that went anomalous first and hardest, upstream first."""
    import json
    from urllib.parse import urlencode

    from vigil.rca import rca_from_query

    query = {"alert": alert, "at": at, "service": service, "lookback": lookback, "limit": limit}
    query = {k: str(v) for k, v in query.items() if v is not None}
    answer = here_or_engine(
        data_dir,
        lambda store, settings: rca_from_query(store, settings, query),
        f"/api/v1/rca?{urlencode(query)}",
        "rank root causes",
    )
    if as_json:
        print(json.dumps(answer, ensure_ascii=False, sort_keys=True, indent=2))
        return
    _print_table(answer)


def _print_table(answer: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    metrics = {s["series_key"]: s["metric"] for s in answer.get("series", [])}
    title = f"root causes in {answer['window_start']} → {answer['at']}"
    if answer.get("alert_id"):
        title += f" (alert {answer['alert_id']})"
    table = Table(title=title, title_justify="left")
    for column in ("rank", "service", "series", "onset", "score", "why"):
        table.add_column(column)
    for s in answer.get("services", []):
        keys = s["series"]
        first = metrics.get(keys[0], keys[0]) if keys else ""
        more = f" (+{len(keys) - 1})" if len(keys) > 1 else ""
        onset = s["onset"].replace("T", " ")[:16]
        table.add_row(str(s["rank"]), s["service"], first + more, onset, f"{s['score']:.2f}",
                      s["reason"])  # fmt: skip
    console = Console()
    if not answer.get("services"):
        console.print("no anomalous series in the window")
        return
    console.print(table)
