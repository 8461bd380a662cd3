"""Retrieval quality on the shipped runbooks: recall@5 over questions responders ask."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.base import KnowledgeBase
from knowledge.text import detect_language
from vigil.settings import load_settings

RUNBOOKS = Path(__file__).resolve().parents[2] / "data" / "runbooks"
QUESTIONS = yaml.safe_load((Path(__file__).parent / "retrieval_questions.yaml").read_text())[
    "questions"
]
TARGET = 0.9


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    data = tmp_path_factory.mktemp("retrieval")
    kb = KnowledgeBase.open(load_settings(data_dir=data, runbooks_dir=RUNBOOKS))
    kb.reindex()
    yield kb
    kb.close()


def _answers(question: dict, kb: KnowledgeBase) -> bool:
    for hit in kb.search(question["q"], k=5):
        last_heading = hit.section.split(" > ")[-1]
        if hit.source == question["source"] and question.get("section") in (None, last_heading):
            return True
    return False


def test_the_question_set_is_bilingual_and_points_at_real_sections(shipped: KnowledgeBase) -> None:
    languages = [detect_language(q["q"]) for q in QUESTIONS]
    assert len(QUESTIONS) >= 40
    assert languages.count("zh") >= 15 and languages.count("en") >= 15
    sources = {d.source for d in shipped.documents()}
    assert {q["source"] for q in QUESTIONS} <= sources


def test_recall_at_5_on_the_shipped_runbooks(shipped: KnowledgeBase) -> None:
    found = [_answers(q, shipped) for q in QUESTIONS]
    by_language = {
        lang: [f for f, q in zip(found, QUESTIONS, strict=True) if detect_language(q["q"]) == lang]
        for lang in ("en", "zh")
    }
    recall = sum(found) / len(found)
    print(
        f"\nrecall@5 = {recall:.3f} over {len(found)} questions; "
        + ", ".join(f"{lang} {sum(v) / len(v):.3f} ({len(v)})" for lang, v in by_language.items())
    )
    missed = [q["q"] for f, q in zip(found, QUESTIONS, strict=True) if not f]
    assert recall >= TARGET, f"recall@5 {recall:.3f} < {TARGET}; missed: {missed}"
