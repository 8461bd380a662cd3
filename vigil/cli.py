"""The ``vigil`` command. Errors a user can act on print one line and exit 2."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from vigil.cli_common import DataDir, console, here_or_engine, progress_bar
from vigil.errors import VigilError

if TYPE_CHECKING:
    from vigil.engine import Engine

app = typer.Typer(
    help="Vigil: seasonal baselines, anomaly detection and alerts for your metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def run(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="UI port (default 8501).")] = None,
) -> None:
    """Start the engine and the web UI in one process (what `make run` calls)."""
    from streamlit.web import cli as streamlit_cli

    from vigil.auth import create_initial_admin
    from vigil.engine import get_engine
    from vigil.settings import load_settings

    settings = load_settings(data_dir=data_dir, ui_port=port)
    os.environ["VIGIL_DATA_DIR"] = str(settings.data_dir.resolve())
    # The engine starts now, not on the first page view: the wall TV may connect later,
    # and backfill and fitting should be done by then.
    engine = get_engine(settings)
    app_path = Path(__file__).resolve().parent.parent / "app.py"
    url = f"http://{settings.ui_host}:{settings.ui_port}"
    print(f"Vigil is starting: open {url}", flush=True)
    first = create_initial_admin(engine.store, settings.data_dir, settings.admin_user)
    if first is not None:
        print(f"First start: sign in as {settings.admin_user} with the password in "
              f"{first} (readable only by you)", flush=True)  # fmt: skip
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
    from vigil.demo_summary import demo_summary, render_summary

    engine = _one_shot_engine(
        data_dir, demo_enabled=True, host_enabled=False, demo_seed=seed, demo_backfill_days=days
    )
    try:
        with progress_bar() as bar:
            task = bar.add_task("backfill", total=100)
            fit = bar.add_task("fit models, then replay the rules", total=None)
            now = engine.build_history(
                days, lambda f, m: bar.update(task, completed=f * 100, description=m),
                lambda i, n: bar.update(fit, completed=i, total=n),
            )  # fmt: skip
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
        with progress_bar() as bar:
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


@app.command()
def snapshot(data_dir: DataDir = None) -> None:
    """Write a Parquet snapshot for notebooks, or ask the running engine to write one."""
    from jobs.snapshot import write_snapshot
    from vigil.clock import utc_now

    answer = here_or_engine(
        data_dir,
        lambda store, settings: {
            "path": str(write_snapshot(store, settings.snapshots_dir, utc_now()))
        },
        "/api/v1/snapshot", "write a snapshot", post=True, timeout=300,
    )  # fmt: skip
    path = str(answer.get("path"))
    print(f"snapshot written to {path}")


from vigil.cli_alerts import alerts_app, silences_app  # noqa: E402 - after the app
from vigil.cli_ask import ask  # noqa: E402
from vigil.cli_backup import backup, restore  # noqa: E402
from vigil.cli_notify import notify_app  # noqa: E402
from vigil.cli_rca import rca  # noqa: E402
from vigil.cli_rules import rules_app  # noqa: E402
from vigil.cli_users import token_app, user_app  # noqa: E402

app.command()(ask)
app.command()(backup)
app.command()(restore)
app.add_typer(alerts_app, name="alerts")
app.add_typer(notify_app, name="notifications")
app.add_typer(rules_app, name="rules")
app.add_typer(silences_app, name="silences")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="wall-token")
app.command("rca")(rca)


def _typer_errors() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Click's usage errors and aborts, and typer's own copies of them (typer 0.29 raises
    those from a vendored Click)."""
    usage: list[type] = [click.exceptions.ClickException]
    aborts: list[type] = [click.exceptions.Abort]
    try:
        from typer._click.exceptions import ClickException as TyperClickException
        from typer.exceptions import Abort as TyperAbort
    except ImportError:
        pass
    else:
        usage.append(TyperClickException)
        aborts.append(TyperAbort)
    return tuple(usage), tuple(aborts)


_USAGE_ERRORS, _ABORTS = _typer_errors()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=False)
    except VigilError as exc:
        console.print(f"vigil: {exc}", style="bold red", highlight=False, soft_wrap=True)
        sys.exit(2)
    except _USAGE_ERRORS as exc:  # a missing argument, an unknown option: one line, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except _ABORTS:
        sys.exit(130)
