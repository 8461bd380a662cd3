"""Evidence mode: the assistant's answer when no language model is asked.

At 3 a.m. the responder needs the same facts whether or not a model is configured, within
budget, or answering: the root-cause ranking for the service the question names, similar
past incidents with their cause and fix, and the runbook passages for the likely cause.
This module gathers those and writes them up, clearly labelled as Vigil's own analysis.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from knowledge.answer import Citation
from knowledge.question import QuestionTopic, read_question
from knowledge.tools import hit_citation
from vigil.i18n import format_time, t
from vigil.settings import Settings
from vigil.store import Store
from vigil.topology import service_aliases, service_dependencies

log = logging.getLogger(__name__)

SYMPTOM_WORDS = {"latency": "latency slow response time", "errors": "errors failures 5xx",
                 "saturation": "cpu memory disk saturation", "traffic": "traffic load requests",
                 "down": "down unavailable no data"}  # fmt: skip
SYMPTOM_METRICS = {
    "latency": re.compile(r"duration|latency|seconds|lag"),
    "errors": re.compile(r"error|fail|5xx"),
    "saturation": re.compile(r"cpu|memory|disk|util|used|connections"),
    "traffic": re.compile(r"requests|per_second|rate|qps|bytes"),
}
"""Metric names that show a symptom, to choose which of a service's series to chart first."""
CANDIDATES_SHOWN = 5
RUNBOOK_PASSAGES = 3
PASSAGE_CHARS = 400


@dataclass(frozen=True)
class Evidence:
    """What evidence mode found; ``rca`` is a :class:`vigil.rca.RcaResult` or None."""

    question: str
    topic: QuestionTopic
    at: pd.Timestamp
    alert: dict[str, Any] | None
    rca: Any | None
    incidents: list[Any] = field(default_factory=list)
    runbooks: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def known_services(store: Store, settings: Settings) -> list[str]:
    stored = store.df("SELECT DISTINCT service FROM series WHERE service IS NOT NULL")
    deps = service_dependencies(settings)
    return sorted({*stored["service"], *deps, *(s for v in deps.values() for s in v)})


def _alert_time(alert: dict[str, Any]) -> pd.Timestamp | None:
    when = alert.get("fired_at") or alert.get("active_at")
    return pd.Timestamp(when).tz_localize(None) if when else None


def _knowledge_query(topic: QuestionTopic, rca: Any | None, question: str) -> str:
    """Runbooks are searched for the likely cause, not for the service asked about: the
    responder asks about checkout, the fix is in the database's runbook."""
    symptom = SYMPTOM_WORDS[topic.symptom] if topic.symptom else ""
    if rca is not None and rca.services:
        top = rca.services[0]
        metrics = [c.metric.replace("_", " ") for c in rca.series if c.service == top.service]
        return " ".join([top.service, *dict.fromkeys(metrics[:2]), symptom])[:500]
    return " ".join([topic.service or "", symptom, question]).strip()[:500]


def _runbooks(knowledge: Any, query: str, root: str | None, lang: str) -> list[Any]:
    """The top passages in the answer's language (any language if it has none), those of
    the likely cause's own runbook first."""
    hits = list(knowledge.search(query, k=6, kind="runbook", language=lang))
    hits = hits or list(knowledge.search(query, k=6, kind="runbook"))
    if root:
        hits.sort(key=lambda h: root not in f"{h.source} {h.section}".lower())
    return hits[:RUNBOOK_PASSAGES]


def gather_evidence(store: Store, settings: Settings, knowledge: Any | None, question: str,
                    *, alert: dict[str, Any] | None, now: pd.Timestamp,
                    lang: str = "en") -> Evidence:  # fmt: skip
    """Rank causes, then retrieve incidents and runbooks; a failing part is noted, not fatal."""
    from vigil.rca import root_causes

    topic = read_question(question, known_services(store, settings), service_aliases(settings))
    if alert is not None and topic.service is None and alert.get("service"):
        topic = QuestionTopic(str(alert["service"]), topic.symptom, None)
    at = (_alert_time(alert) if alert else None) or now
    problems: list[str] = []
    rca = None
    try:
        rca = root_causes(store, settings, alert_id=alert["alert_id"] if alert else None,
                          at=None if alert else at, focus_service=topic.service,
                          limit=10)  # fmt: skip
    except Exception as exc:  # the rest of the evidence is still worth showing
        log.warning("root-cause ranking failed: %s", exc)
        problems.append(f"rca: {exc}")
    incidents, runbooks = [], []
    if knowledge is not None:
        root = rca.services[0].service if rca is not None and rca.services else None
        try:
            runbooks = _runbooks(knowledge, _knowledge_query(topic, rca, question), root, lang)
            symptoms = " ".join(p for p in (question, root, topic.service) if p)
            incidents = list(knowledge.similar_incidents(symptoms, k=3))
        except Exception as exc:
            log.warning("knowledge search failed: %s", exc)
            problems.append(f"knowledge: {exc}")
    return Evidence(question, topic, at, alert, rca, incidents, runbooks, problems)


def _series_citations(rca: Any, symptom: str | None) -> list[Citation]:
    """The top service's series first, those showing the symptom asked about ahead, so the
    first chart is the likely cause as the responder described it ("slow": its latency)."""
    if rca is None or not rca.series:
        return []
    top = rca.services[0].service if rca.services else None
    shows = SYMPTOM_METRICS.get(symptom or "")

    def order(c: Any) -> tuple[bool, bool, int]:
        return (c.service != top, shows is None or not shows.search(c.metric), c.rank)

    ordered = sorted(rca.series, key=order)[:CANDIDATES_SHOWN]
    return [Citation("series", c.series_key, f"explore?metric={c.metric}", int(c.series_id))
            for c in ordered]  # fmt: skip


def _ranking_lines(rca: Any, lang: str) -> list[str]:
    lines = []
    for c in rca.services[:CANDIDATES_SHOWN]:
        series = f" — `{c.series[0]}`" if c.series else ""
        lines.append(t("assistant.ev.candidate", lang, rank=c.rank, service=c.service,
                       onset=format_time(c.onset, with_date=True), score=f"{c.score:.2f}",
                       reason=c.reason) + series)  # fmt: skip
    return lines


def _passage(hit: Any) -> str:
    text = " ".join(str(hit.text).split())
    return text if len(text) <= PASSAGE_CHARS else text[: PASSAGE_CHARS - 1] + "…"


def compose(ev: Evidence, lang: str, reason_text: str) -> tuple[str, list[Citation]]:
    """The labelled evidence answer in ``lang`` and the citations it rests on."""
    out = [t("assistant.ev.label", lang, reason=reason_text), ""]
    where = ev.topic.service or t("assistant.ev.all_services", lang)
    symptom = t(f"assistant.symptom.{ev.topic.symptom or 'any'}", lang)
    out.append(t("assistant.ev.scope", lang, service=where, symptom=symptom,
                 at=format_time(ev.at, with_date=True)))  # fmt: skip
    cites: list[Citation] = []
    if ev.alert is not None:
        summary = ev.alert["annotations"].get("summary") or ev.alert["rule_id"]
        cites.append(Citation("alert", str(summary), f"alerts?alert={ev.alert['alert_id']}",
                              ev.alert.get("series_id")))  # fmt: skip
    if ev.rca is not None and ev.rca.services:
        top = ev.rca.services[0]
        out += ["", t("assistant.ev.top", lang, service=top.service,
                      onset=format_time(top.onset, with_date=True), score=f"{top.score:.2f}"),
                "", t("assistant.ev.ranking", lang), *_ranking_lines(ev.rca, lang)]  # fmt: skip
        cites += _series_citations(ev.rca, ev.topic.symptom)
    else:
        out += ["", t("assistant.ev.no_ranking", lang)]
    if ev.incidents:
        out += ["", t("assistant.ev.incidents", lang)]
        for hit in ev.incidents:
            extra = hit.extra or {}
            out.append(t("assistant.ev.incident", lang, title=hit.section or hit.source,
                         cause=extra.get("cause") or "—", fix=extra.get("fix") or "—"))  # fmt: skip
            cites.append(hit_citation(hit))
    if ev.runbooks:
        out += ["", t("assistant.ev.runbooks", lang)]
        for hit in ev.runbooks:
            citation = hit_citation(hit)
            out.append(f"- **{citation.title}**: {_passage(hit)}")
            cites.append(citation)
    if ev.problems:
        out += ["", t("assistant.ev.partial", lang, problems="; ".join(ev.problems))]
    return "\n".join(out), cites


def candidates(ev: Evidence) -> tuple[dict[str, Any], ...]:
    """The service ranking as plain records, for ``--json`` and the page's table."""
    if ev.rca is None:
        return ()
    return tuple({"rank": c.rank, "service": c.service, "onset": pd.Timestamp(c.onset).isoformat(),
                  "score": float(c.score), "reason": c.reason, "series": list(c.series)}
                 for c in ev.rca.services[:CANDIDATES_SHOWN])  # fmt: skip
