"""``vigil rules``: import, export, backtest, list and edit alerting rules."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.cli_common import DataDir, here_or_engine, read_text_file, whoami
from vigil.errors import VigilError

if TYPE_CHECKING:
    from vigil.settings import Settings

rules_app = typer.Typer(help="Alerting rules: import, export, backtest, list and edit rules.",
                        no_args_is_help=True)  # fmt: skip


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

    text = read_text_file(file, "rule file")
    settings = load_settings(data_dir=data_dir)
    try:
        store = Store.open(settings.data_dir)
    except DataDirLockedError as exc:
        raise VigilError(f"{exc}; stop it to import rules from the command line") from None
    try:
        summary = import_rules(store, text, author or whoami())
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

    answer = here_or_engine(
        data_dir, lambda store, _: {"file": export_rules(store)}, "/api/v1/rules", "export rules"
    )
    text = str(answer.get("file", ""))
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    print(f"rules written to {out}")


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

    text = read_text_file(file, "rule file")

    def local(store: Any, settings: Settings) -> dict:
        try:
            interval = settings.evaluate_interval_seconds
            return {"results": backtest_file(store, text, rule, days, interval, utc_now())}
        except ValueError as exc:  # a RuleValidationError too
            raise VigilError(f"{file}: {exc}") from None

    answer = here_or_engine(data_dir, local, "/api/v1/rules/backtest", "backtest",
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


@rules_app.command("list")
def rules_list(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per rule.")] = False,
) -> None:
    """List every rule with its state, version and health; works while the engine runs."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vigil.rule_versions import list_rules

    answer = here_or_engine(data_dir, lambda store, _: {"rules": list_rules(store)},
                            "/api/v1/rules/list", "list rules")  # fmt: skip
    rules = list(answer.get("rules", []))
    if as_json:
        for rule in rules:
            print(json.dumps(rule, ensure_ascii=False, sort_keys=True))
        return
    table = Table(title=f"{len(rules)} rules", title_justify="left")
    for column in ("group", "rule", "kind", "on", "v", "by", "health"):
        table.add_column(column)
    for r in rules:
        health = "never evaluated" if r["last_eval_at"] is None else (r["last_error"] or "ok")
        table.add_row(r["group"], r["name"], r["kind"], "yes" if r["enabled"] else "no",
                      str(r["version"]), r["updated_by"], health)  # fmt: skip
    Console().print(table)


@rules_app.command("history")
def rules_history(
    rule: Annotated[str, typer.Argument(help="The rule's name (its alert name).")],
    data_dir: DataDir = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show what each version changed.")] = False,
) -> None:
    """Every version of a rule, newest first: who saved it and when."""
    from urllib.parse import urlencode

    from vigil.rule_versions import rule_history

    answer = here_or_engine(data_dir, lambda store, _: {"versions": rule_history(store, rule)},
                            f"/api/v1/rules/history?{urlencode({'rule': rule})}",
                            "read the rule's history")  # fmt: skip
    for version in answer.get("versions", []):
        print(f"version {version['version']}  {version['created_at']}  {version['author']}")
        if diff and version["diff"]:
            print("    " + version["diff"].rstrip("\n").replace("\n", "\n    "))


def _change(data_dir: Path | None, change: Callable[[Any], str]) -> None:
    """Apply ``change(store)`` to the data dir and print what it says; while an engine
    holds the data dir, edit in the app instead (its HTTP port takes no edits)."""
    from vigil.errors import DataDirLockedError
    from vigil.settings import load_settings
    from vigil.store import Store

    settings = load_settings(data_dir=data_dir)
    if not settings.db_path.exists():
        raise VigilError(f"no Vigil database in {settings.data_dir}; check --data-dir")
    try:
        store = Store.open(settings.data_dir)
    except DataDirLockedError as exc:
        raise VigilError(f"{exc}; edit rules in the app, or stop it to edit here") from None
    try:
        print(change(store))
    finally:
        store.close()


Author = Annotated[
    str | None, typer.Option("--author", help="Recorded with the change (default: you).")
]


@rules_app.command("rollback")
def rules_rollback(
    rule: Annotated[str, typer.Argument(help="The rule's name.")],
    version: Annotated[int, typer.Argument(help="The version to bring back.")],
    data_dir: DataDir = None,
    author: Author = None,
) -> None:
    """Make an old version of a rule current again (as a new version)."""
    from vigil.rule_versions import rollback_rule

    def change(store: Any) -> str:
        saved = rollback_rule(store, rule, version, author or whoami())
        if not saved.changed:
            return f"{rule} already says what version {version} says; nothing changed"
        return f"{rule} is now version {saved.version}, the same as version {version}"

    _change(data_dir, change)


def _switch(enabled: bool, rules: list[str], group: str | None, data_dir: Path | None,
            author: str | None) -> None:  # fmt: skip
    from vigil.rule_versions import set_enabled

    state = "enabled" if enabled else "disabled"

    def change(store: Any) -> str:
        changed = set_enabled(store, enabled, author or whoami(), names=rules, group=group)
        return f"{state}: {', '.join(changed)}" if changed else f"already {state}; nothing changed"

    _change(data_dir, change)


Names = Annotated[list[str] | None, typer.Argument(help="Rule names.")]
Group = Annotated[str | None, typer.Option("--group", "-g", help="Every rule of this group.")]


@rules_app.command("enable")
def rules_enable(
    rules: Names = None, group: Group = None, data_dir: DataDir = None, author: Author = None
) -> None:
    """Enable rules by name, or a whole group."""
    _switch(True, rules or [], group, data_dir, author)


@rules_app.command("disable")
def rules_disable(
    rules: Names = None, group: Group = None, data_dir: DataDir = None, author: Author = None
) -> None:
    """Disable rules by name, or a whole group; their history stays."""
    _switch(False, rules or [], group, data_dir, author)


@rules_app.command("packs")
def rules_packs(data_dir: DataDir = None) -> None:
    """The rule packs Vigil ships (host, MySQL, Redis, Kafka, containers, Kubernetes) and
    how many of each pack's rules the data dir has."""
    from analytics.rule_files import import_rule_file
    from vigil.rule_versions import list_rules
    from vigil.rules_store import pack_text, packs
    from vigil.settings import load_settings

    installed: set[str] = set()
    if load_settings(data_dir=data_dir).db_path.exists():
        answer = here_or_engine(data_dir, lambda store, _: {"rules": list_rules(store)},
                                "/api/v1/rules/list", "list rules")  # fmt: skip
        installed = {r["name"] for r in answer.get("rules", [])}
    for name in packs():
        names = [e.name for e in import_rule_file(pack_text(name)).entries]
        have = sum(n in installed for n in names)
        print(f"{name:<12} {have:>2}/{len(names)} installed  {', '.join(names)}")


@rules_app.command("install-pack")
def rules_install_pack(
    pack: Annotated[str, typer.Argument(help="A pack's name (vigil rules packs).")],
    data_dir: DataDir = None,
    author: Author = None,
) -> None:
    """Install a rule pack; installing it again changes nothing."""
    from vigil.rules_store import install_pack

    def change(store: Any) -> str:
        summary = install_pack(store, pack, author or whoami())
        return (f"{pack}: {len(summary.added)} added, {len(summary.updated)} updated, "
                f"{len(summary.unchanged)} unchanged")  # fmt: skip

    _change(data_dir, change)
