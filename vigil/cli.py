"""The ``vigil`` command. Errors a user can act on print one line and exit 2."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.errors import VigilError

if TYPE_CHECKING:
    from vigil.engine import Engine
    from vigil.settings import Settings

app = typer.Typer(
    help="Vigil: seasonal baselines, anomaly detection and alerts for your metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", "-d", help="Data directory (default: ./data).")
]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.command()
def run(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="UI port (default 8501).")] = None,
) -> None:
    """Start the engine and the web UI in one process (what `make run` calls)."""
    from streamlit.web import cli as streamlit_cli

    from vigil.engine import get_engine
    from vigil.settings import load_settings

    settings = load_settings(data_dir=data_dir, ui_port=port)
    os.environ["VIGIL_DATA_DIR"] = str(settings.data_dir.resolve())
    # The engine starts now, not on the first page view: the wall TV may connect later,
    # and backfill and fitting should be done by then.
    get_engine(settings)
    app_path = Path(__file__).resolve().parent.parent / "app.py"
    url = f"http://{settings.ui_host}:{settings.ui_port}"
    print(f"Vigil is starting: open {url}", flush=True)
    sys.argv = ["streamlit", "run", str(app_path), "--server.port", str(settings.ui_port)]
    sys.argv += ["--server.address", settings.ui_host, "--server.headless", "true"]
    sys.argv += ["--browser.gatherUsageStats", "false"]
    streamlit_cli.main()


@app.command()
def jobs(data_dir: DataDir = None) -> None:
    """Run the engine headless: pulls, refits and evaluations on schedule, no UI."""
    from vigil.engine import get_engine, reset_engine
    from vigil.settings import load_settings

    engine = get_engine(load_settings(data_dir=data_dir))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"engine running on {engine.settings.data_dir}; Ctrl-C to stop")
    stop.wait()
    reset_engine()


def _one_shot_engine(data_dir: Path | None, **overrides: object) -> Engine:
    from vigil.engine import Engine
    from vigil.settings import load_settings

    # one-shot commands serve no metrics: the port belongs to the long-running engine
    overrides.setdefault("http_port", 0)
    settings = load_settings(data_dir=data_dir, scheduler_enabled=False, **overrides)
    return Engine(settings)


@app.command()
def demo(
    data_dir: DataDir = None,
    days: Annotated[int, typer.Option(min=1, max=90, help="Days of history to backfill.")] = 14,
    seed: Annotated[int, typer.Option(help="Seed of the demo estate.")] = 1,
) -> None:
    """Backfill the demo estate, fit models, replay rule evaluation and print a summary."""
    import pandas as pd

    from vigil.clock import utc_now
    from vigil.demo_summary import demo_summary, render_summary

    engine = _one_shot_engine(
        data_dir, demo_enabled=True, host_enabled=False, demo_seed=seed, demo_backfill_days=days
    )
    try:
        with _progress() as bar:
            task = bar.add_task("backfill", total=100)
            engine.pull_all(lambda f, m: bar.update(task, completed=f * 100, description=m))
            fit = bar.add_task("fit models", total=None)
            engine.refit(lambda i, n: bar.update(fit, completed=i, total=n))
        console.print("evaluating rules over the backfill ...")
        now = utc_now()
        engine.evaluate(since=now - pd.Timedelta(days=days), until=now)
        print(render_summary(demo_summary(engine.store, days=days, now=now)))
    finally:
        engine.stop()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="Long-format CSV or Parquet file.")],
    data_dir: DataDir = None,
) -> None:
    """Import samples: columns timestamp, metric, value; every other column is a label."""
    from vigil.ingest import ingest
    from vigil.sources.files import read_long_file

    result = read_long_file(file)
    engine = _one_shot_engine(data_dir, demo_enabled=False, host_enabled=False)
    try:
        added = ingest(engine.store, "file", result)
    finally:
        engine.stop()
    print(f"imported {added} new samples of {result.catalog.shape[0]} series from {file}")


@app.command()
def pull(data_dir: DataDir = None) -> None:
    """Pull every configured source once, up to now, and exit."""
    engine = _one_shot_engine(data_dir)
    try:
        added = engine.pull_all()
    finally:
        engine.stop()
    print(f"pulled {added} new samples")


@app.command()
def refit(data_dir: DataDir = None) -> None:
    """Fit every series' detector on its recent history."""
    engine = _one_shot_engine(data_dir, demo_enabled=False, host_enabled=False)
    try:
        with _progress() as bar:
            task = bar.add_task("fit models", total=None)
            summary = engine.refit(lambda i, n: bar.update(task, completed=i, total=n))
    finally:
        engine.stop()
    print(f"fitted {summary.fitted}, failed {summary.failed}, skipped {summary.skipped}")


@app.command()
def evaluate(
    data_dir: DataDir = None,
    since: Annotated[str | None, typer.Option(help="Start: ISO time or -2h, -14d.")] = None,
    until: Annotated[str | None, typer.Option(help="End: ISO time or 'now'.")] = None,
) -> None:
    """Score and evaluate rules over a time range; running it twice gives the same alerts."""
    from vigil.clock import parse_time

    engine = _one_shot_engine(data_dir, demo_enabled=False, host_enabled=False)
    try:
        end = parse_time(until) if until else None
        start = parse_time(since, end) if since else None
        summary = engine.evaluate(start, end)
    finally:
        engine.stop()
    print(
        f"scored {summary.scored} points, evaluated {summary.rules} rules at "
        f"{summary.evaluations} times: {summary.alerts} alert episodes, "
        f"{summary.firing} firing now"
    )


def _ask_engine(
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
    request = urllib.request.Request(url, data=body, method="POST" if post else "GET",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
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


def _here_or_engine(
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
        return _ask_engine(settings, str(exc), path, what, post=post, timeout=timeout,
                           payload=payload)  # fmt: skip
    try:
        return local(store, settings)
    finally:
        store.close()


@app.command()
def snapshot(data_dir: DataDir = None) -> None:
    """Write a Parquet snapshot for notebooks, or ask the running engine to write one."""
    from jobs.snapshot import write_snapshot
    from vigil.clock import utc_now

    answer = _here_or_engine(
        data_dir,
        lambda store, settings: {
            "path": str(write_snapshot(store, settings.snapshots_dir, utc_now()))
        },
        "/api/v1/snapshot", "write a snapshot", post=True, timeout=300,
    )  # fmt: skip
    path = str(answer.get("path"))
    print(f"snapshot written to {path}")


alerts_app = typer.Typer(help="Alerts: list, acknowledge, resolve.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


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
    answer = _here_or_engine(
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


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=False)
    except VigilError as exc:
        console.print(f"vigil: {exc}", style="bold red", highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)


rules_app = typer.Typer(help="Alerting rules: import, export and backtest rule files.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(rules_app, name="rules")


@rules_app.command("import")
def rules_import(
    file: Annotated[Path, typer.Argument(help="A Prometheus (or Vigil) rule file.")],
    data_dir: DataDir = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Recorded on each new version (default: you).")
    ] = None,
) -> None:
    """Import the alerting rules of a rule file; a changed rule becomes a new version.

    Rules Vigil cannot evaluate (recording rules, aggregations, functions) are listed, not
    imported. A file that is not a rule file changes nothing.
    """
    from analytics.rules import RuleValidationError
    from vigil.errors import DataDirLockedError
    from vigil.rules_store import import_rules
    from vigil.settings import load_settings
    from vigil.store import Store

    text = _read_text_file(file, "rule file")
    settings = load_settings(data_dir=data_dir)
    try:
        store = Store.open(settings.data_dir)
    except DataDirLockedError as exc:
        raise VigilError(f"{exc}; stop it to import rules from the command line") from None
    try:
        summary = import_rules(store, text, author or _whoami())
    except RuleValidationError as exc:
        raise VigilError(f"{file}: {exc}; nothing was imported") from None
    finally:
        store.close()
    print(f"{len(summary.added)} added, {len(summary.updated)} updated, "
          f"{len(summary.unchanged)} unchanged, {len(summary.skipped)} not imported")  # fmt: skip
    for skipped in summary.skipped:
        where = f"line {skipped.line}: " if skipped.line else ""
        print(f"  not imported: {skipped.name} ({where}{skipped.reason})")


@rules_app.command("export")
def rules_export(
    data_dir: DataDir = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Export every rule as a Prometheus rule file (promtool check rules accepts it); works
    while the engine runs, too."""
    from vigil.rules_store import export_rules

    answer = _here_or_engine(
        data_dir, lambda store, _: {"file": export_rules(store)}, "/api/v1/rules", "export rules"
    )
    text = str(answer.get("file", ""))
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    print(f"rules written to {out}")


MAX_RULE_FILE_BYTES = 5 * 2**20


def _read_text_file(path: Path, what: str) -> str:
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


silences_app = typer.Typer(help="Silences: mute alerts by label matchers for a while.",
                           no_args_is_help=True)  # fmt: skip
app.add_typer(silences_app, name="silences")


def _silence_call(data_dir: Path | None, local: Callable[[Any], Any], path: str, what: str,
                  payload: dict | None = None) -> Any:  # fmt: skip
    """Run ``local(SilenceApi)`` on the data dir, or ask the engine that holds it."""
    from vigil.silences_store import SilenceApi

    return _here_or_engine(data_dir, lambda store, _: local(SilenceApi(store)), path, what,
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
               "created_by": author or _whoami(), "comment": comment}  # fmt: skip
    request = {k: v for k, v in request.items() if v is not None}
    silence = _silence_call(data_dir, lambda api: api.add(request), "/api/v1/silences",
                            "add the silence", payload=request)  # fmt: skip
    print(f"silence {silence['silence_id']} {silence['state']} until {silence['ends_at']}: "
          f"{', '.join(silence['matchers'])}")  # fmt: skip


@silences_app.command("expire")
def silences_expire(
    silence_id: Annotated[str, typer.Argument(help="The silence's id.")], data_dir: DataDir = None
) -> None:
    """End a silence now; it stays in the history."""
    silence = _silence_call(data_dir, lambda api: api.expire(silence_id),
                            "/api/v1/silences/expire", "expire the silence",
                            payload={"silence_id": silence_id})  # fmt: skip
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

    who = author or _whoami()

    def local(store: Any, _: Settings) -> dict:
        act_on_alert(store, action, alert_id, who, comment)
        return {}

    _here_or_engine(data_dir, local, f"/api/v1/alerts/{action}", f"{action} the alert",
                    payload={"alert_id": alert_id, "by": who, "comment": comment})  # fmt: skip
    print(f"alert {alert_id} {action}d by {who}")


Comment = Annotated[str, typer.Option("--comment", "-c", help="What you found or did.")]
Author = Annotated[str | None, typer.Option("--author", help="Who (default: you).")]


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
) -> None:  # fmt: skip
    """Resolve an open alert by hand; it stays resolved until its condition clears and
    returns."""
    _alert_action("resolve", alert_id, data_dir, comment, author)


@rules_app.command("backtest")
def rules_backtest(
    file: Annotated[Path, typer.Argument(help="A rule file: saved rules or a draft.")],
    data_dir: DataDir = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    days: Annotated[float, typer.Option("--days", help="How far back to replay.")] = 7.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per rule.")] = False,
) -> None:
    """Replay rules over the stored history: every firing, per day and per series.
    Nothing is written; works while the engine runs, too."""
    import json

    from jobs.backtest import backtest_file
    from vigil.clock import utc_now

    text = _read_text_file(file, "rule file")

    def local(store: Any, settings: Settings) -> dict:
        try:
            interval = settings.evaluate_interval_seconds
            return {"results": backtest_file(store, text, rule, days, interval, utc_now())}
        except ValueError as exc:  # a RuleValidationError too
            raise VigilError(f"{file}: {exc}") from None

    answer = _here_or_engine(data_dir, local, "/api/v1/rules/backtest", "backtest",
                             payload={"file": text, "rule": rule, "days": days},
                             timeout=120)  # fmt: skip
    results = answer.get("results", [])
    for result in results:
        if as_json:
            print(json.dumps(result, ensure_ascii=False, sort_keys=True))
            continue
        print(f"{result['rule']}: {result['episodes']} firings on {result['series']} series "
              f"over {result['evaluations']} evaluations")  # fmt: skip
        for day, count in result["per_day"].items():
            print(f"  {day}  {count}")
        for top in result["per_series"][:10]:
            print(f"  {top['series']}: {top['episodes']} firings, "
                  f"{top['firing_seconds'] / 60:.0f} min firing")  # fmt: skip


def _whoami() -> str:
    """The login name recorded as author when none is given (containers may have none)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
