"""Hostile rule files: YAML tags that would run code, alias bombs, nesting thousands deep,
oversized and non-UTF-8 files, documents that are not mappings, NaN/Inf thresholds.

A file that is not a rule file is refused whole, in one line, saving nothing; a rule
inside a good file that Vigil cannot evaluate is reported as not imported, by line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.rule_files import MAX_RULE_FILE_CHARS
from analytics.rules import RuleValidationError
from tests.conftest import run_vigil
from tests.hostile.conftest import assert_cli_refused, assert_one_line, state_of, vigil_in_process
from vigil.rules_store import import_rules
from vigil.store import Store

GOOD_RULE = "  - alert: Fine\n    expr: up < 1\n"


def _rule_file(*rules: str) -> str:
    return "groups:\n- name: hostile\n  rules:\n" + "".join(rules)


def _laughs(levels: int = 9) -> str:
    """A billion-laughs document: nine aliases of nine aliases, ``levels`` deep."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _whole_file_cases(marker: Path) -> dict[str, str]:
    exploit = f'!!python/object/apply:os.system ["touch {marker}"]'
    return {
        "python tag document": exploit + "\n",
        "python tag in a rule": _rule_file(f"  - alert: X\n    expr: {exploit}\n"),
        "python tag in labels": _rule_file(GOOD_RULE + f"    labels:\n      x: {exploit}\n"),
        "alias bomb": _laughs(),
        "deep flow nesting": "[" * 20_000 + "]" * 20_000,
        "deep block nesting": "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000)),
        "a list document": "- groups\n- rules\n",
        "a plain string": "just some words\n",
        "groups not a list": "groups: 7\n",
        "oversized": _rule_file(GOOD_RULE) + "#" * (MAX_RULE_FILE_CHARS + 1),
    }


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("rules") / "data"
    Store.open(data_dir).close()
    return data_dir


@pytest.fixture
def store(rules_dir: Path) -> Iterator[Store]:
    opened = Store.open(rules_dir)
    yield opened
    opened.close()


@pytest.mark.parametrize("case", list(_whole_file_cases(Path("/x"))))
def test_import_rules_refuses_a_hostile_file_whole(
    store: Store, rules_dir: Path, tmp_path: Path, case: str
) -> None:
    marker = tmp_path / "pwned"
    text = _whole_file_cases(marker)[case]
    before = state_of(rules_dir, store)
    with pytest.raises(RuleValidationError) as refused:
        import_rules(store, text, "mallory")
    assert_one_line(str(refused.value))
    assert not marker.exists()
    assert state_of(rules_dir, store) == before


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("  - alert: Nan\n    expr: up > nan\n", "NaN or Inf"),
        ("  - alert: Inf\n    expr: up > +Inf\n", "NaN or Inf"),
        ("  - alert: Huge\n    expr: up > 1e309\n", "finite"),
        ("  - alert: K\n    expr: up\n    vigil:\n      kind: band\n      k: .nan\n", "finite"),
        ("  - alert: For\n    expr: up > 1\n    for: .inf\n", "duration"),
        ("  - alert: Laughs\n    expr: up > 1\n    labels:\n      x: *l8\n", "single value"),
    ],
)
def test_a_rule_with_a_hostile_value_is_reported_and_not_imported(
    store: Store, rules_dir: Path, rule: str, reason: str
) -> None:
    prefix = _laughs() if "*l8" in rule else ""
    before = state_of(rules_dir, store)
    summary = import_rules(store, prefix + _rule_file(rule), "mallory")
    assert summary.added == [] and summary.updated == []
    [skipped] = summary.skipped
    assert reason.lower() in skipped.reason.lower() and skipped.line is not None
    assert state_of(rules_dir, store) == before


@pytest.mark.parametrize("case", ["python tag document", "alias bomb", "deep flow nesting",
                                  "a list document", "oversized"])  # fmt: skip
def test_rules_import_command_refuses_a_hostile_file(
    rules_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "rules.yaml"
    path.write_text(_whole_file_cases(marker)[case], encoding="utf-8")
    before = state_of(rules_dir)
    result = vigil_in_process(monkeypatch, rules_dir, "rules", "import", str(path))
    assert_cli_refused(result, "rules.yaml")
    assert not marker.exists()
    assert state_of(rules_dir) == before


def test_rules_import_command_refuses_invalid_utf8_and_a_6_mib_file(
    rules_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(_rule_file(GOOD_RULE).encode() + b"    labels: {x: \xff\xfe}\n")
    big = tmp_path / "big.yaml"
    big.write_bytes(_rule_file(GOOD_RULE).encode() + b"#" * (6 * 2**20))
    before = state_of(rules_dir)
    for path, words in ((broken, ("UTF-8",)), (big, ("larger than",))):
        result = vigil_in_process(monkeypatch, rules_dir, "rules", "import", str(path))
        assert_cli_refused(result, *words)
    assert state_of(rules_dir) == before


def test_the_code_running_tag_through_a_child_process(rules_dir: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "rules.yaml"
    path.write_text(_whole_file_cases(marker)["python tag in a rule"], encoding="utf-8")
    before = state_of(rules_dir)
    assert_cli_refused(run_vigil(rules_dir, "rules", "import", str(path)), "nothing")
    assert not marker.exists()
    assert state_of(rules_dir) == before
