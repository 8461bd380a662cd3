"""Reading a question without a language model: the service it names (by name or alias,
English or Chinese, whole words only) and the symptom it describes."""

from __future__ import annotations

import pytest

from knowledge.question import find_symptom, read_question
from vigil.sources.demo import ALIASES, DEPENDENCIES

SERVICES = list(DEPENDENCIES)


@pytest.mark.parametrize(
    ("question", "service", "symptom"),
    [
        ("why is checkout slow?", "orders", "latency"),
        ("Why is CHECKOUT slow", "orders", "latency"),
        ("订单为什么这么慢", "orders", "latency"),
        ("为什么支付报错", "payments", "errors"),
        ("the database has too many connections errors", "mysql", "errors"),
        ("is the cache down?", "redis", "down"),
        ("inventory disk full", "inventory", "saturation"),
        ("gateway traffic dropped", "gateway", "traffic"),
        ("what is going on", None, None),
        ("redis-exporter logs", None, None),  # part of a longer name is not the service
        ("dbx is slow", None, "latency"),
    ],
)  # fmt: skip
def test_the_service_and_symptom_of_a_question(question: str, service: str | None,
                                               symptom: str | None) -> None:  # fmt: skip
    topic = read_question(question, SERVICES, ALIASES)
    assert (topic.service, topic.symptom) == (service, symptom)


def test_the_earliest_named_service_wins() -> None:
    topic = read_question("payments is slow since checkout changed", SERVICES, ALIASES)
    assert (topic.service, topic.matched) == ("payments", "payments")
    assert read_question("checkout slow, payments fine", SERVICES, ALIASES).service == "orders"


def test_aliases_from_the_settings_are_used() -> None:
    topic = read_question("why is the shop slow?", ["web"], {"web": ("shop", "商店")})
    assert topic.service == "web"
    assert read_question("商店很慢", ["web"], {"web": ("shop", "商店")}).service == "web"


def test_the_earliest_symptom_wins() -> None:
    assert find_symptom("errors and then it became slow") == "errors"
    assert find_symptom("slow, then errors") == "latency"
