"""``vigil ask``: the root-cause assistant in a terminal, on the data dir or through the
engine that holds it (``POST /api/v1/ask``).

Without a language model configured it answers in evidence mode, so an SSH session at
3 a.m. gets the ranked causes and the runbook steps all the same.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.cli_common import DataDir, here_or_engine, whoami

if TYPE_CHECKING:
    from vigil.settings import Settings


def _local(request: dict[str, Any]) -> Any:
    """Answer on the data dir: the knowledge base is opened for the question and closed."""

    def answer(store: Any, settings: Settings) -> dict:
        from knowledge.assistant import ask_request

        knowledge = None
        try:
            from knowledge.base import KnowledgeBase

            knowledge = KnowledgeBase.open(settings)
        except Exception as exc:  # runbooks are missing from the answer, which still comes
            typer.echo(f"knowledge base unavailable: {exc}", err=True)
        try:
            return ask_request(store, settings, knowledge, request)
        finally:
            if knowledge is not None:
                knowledge.close()

    return answer


def _print(answer: dict[str, Any]) -> None:
    if answer.get("mode") == "evidence":
        typer.echo(f"[evidence mode: {answer.get('reason')}]", err=True)
    typer.echo(answer.get("text", ""))
    citations = answer.get("citations") or []
    if citations:
        typer.echo("\nSources:")
    for n, cite in enumerate(citations, start=1):
        link = f" <{cite['link']}>" if cite.get("link") else ""
        typer.echo(f"  [{n}] {cite['kind']}: {cite['title']}{link}")
    usage = answer.get("usage") or {}
    if usage.get("prompt_tokens") or usage.get("completion_tokens"):
        typer.echo(f"\n{usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion "
                   f"tokens, about ${usage['cost']:.4f}", err=True)  # fmt: skip


def ask(
    question: Annotated[str, typer.Argument(help='What to ask, e.g. "why is checkout slow?"')],
    data_dir: DataDir = None,
    alert: Annotated[str | None, typer.Option("--alert", help="Ask about this alert id.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Answer language: en or zh.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="The answer as one JSON object.")] = False,
) -> None:
    """Ask the root-cause assistant; prints the answer and its sources."""
    request = {"question": question, "alert_id": alert, "lang": lang, "username": whoami()}
    answer = here_or_engine(data_dir, _local(request), "/api/v1/ask", "answer the question",
                            payload=request, timeout=300)  # fmt: skip
    if as_json:
        print(json.dumps(answer, ensure_ascii=False, sort_keys=True))
    else:
        _print(answer)
