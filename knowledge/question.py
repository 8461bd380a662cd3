"""What a responder's question is about: which service, and which symptom.

Evidence mode has no language model to read "why is checkout slow?", yet it must still
rank causes for the right service. People use the names they know ("checkout", "订单",
"the database"), so services are found by their names and the aliases in the settings
(or the demo estate's), in English and Chinese; the symptom steers which runbook passages
are retrieved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SYMPTOMS: dict[str, tuple[str, ...]] = {
    "latency": ("slow", "slowness", "latency", "latent", "lag", "lagging", "timeout",
                "timeouts", "timing out", "sluggish", "p99", "response time", "hang",
                "慢", "延迟", "延时", "超时", "卡顿", "卡", "响应时间"),
    "errors": ("error", "errors", "5xx", "500", "failing", "failure", "failures", "fail",
               "exception", "错误", "报错", "失败", "异常"),
    "saturation": ("cpu", "memory", "disk", "full", "saturated", "oom", "leak", "内存",
                   "磁盘", "满", "泄漏", "饱和"),
    "traffic": ("traffic", "load", "requests", "throughput", "rate", "流量", "请求量",
                "负载", "吞吐"),
    "down": ("down", "unavailable", "unreachable", "missing", "no data", "outage", "dead",
             "宕机", "不可用", "挂了", "无数据", "中断"),
}  # fmt: skip
"""Words that name a symptom; "slow" means the latency series matter."""


@dataclass(frozen=True)
class QuestionTopic:
    service: str | None
    symptom: str | None
    matched: str | None  # the words of the question that named the service


def _is_cjk(word: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in word)


def _pattern(word: str) -> re.Pattern[str]:
    """Whole words in Latin text; Chinese has no spaces, so a plain substring there."""
    escaped = re.escape(word.lower())
    return re.compile(escaped if _is_cjk(word) else rf"(?<![\w-]){escaped}(?![\w-])")


def _names(services: Iterable[str], aliases: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """(name, service) pairs, longest names first so "order service" beats "order"."""
    pairs = {(s.lower(), s) for s in services if s}
    for service, others in aliases.items():
        pairs.update((a.lower(), service) for a in others if a)
    return sorted(pairs, key=lambda p: (-len(p[0]), p[0]))


def find_service(
    question: str, services: Iterable[str], aliases: Mapping[str, Iterable[str]]
) -> tuple[str | None, str | None]:
    """The service the question names earliest, with the words that named it."""
    text = question.lower()
    best: tuple[int, str, str] | None = None
    for name, service in _names(services, aliases):
        match = _pattern(name).search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), service, question[match.start() : match.end()])
    return (best[1], best[2]) if best else (None, None)


def find_symptom(question: str) -> str | None:
    """The symptom whose word appears earliest in the question."""
    text = question.lower()
    found = [(m.start(), symptom) for symptom, words in SYMPTOMS.items() for word in words
             if (m := _pattern(word).search(text))]  # fmt: skip
    return min(found)[1] if found else None


def read_question(question: str, services: Iterable[str],
                  aliases: Mapping[str, Iterable[str]]) -> QuestionTopic:  # fmt: skip
    service, matched = find_service(question, services, aliases)
    return QuestionTopic(service, find_symptom(question), matched)
