"""The shipped rule packs: every rule evaluable, documented and unique, installable twice
without change, exported as promtool accepts, and computed as Prometheus computes it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analytics.promql import Semantics, compile_query, selectors
from analytics.promql.nodes import COMPARISON, Binary, Number
from analytics.rule_files import import_rule_file
from tests.conftest import need_binary, run_vigil
from tests.promql_cases import MINUTES, Case, Series
from tests.promtool import prometheus_2, run_unit_tests, value_check, vigil_answer
from vigil.rules_store import default_rules_text, export_rules, install_pack, pack_text, packs
from vigil.store import Store

RUNBOOKS = Path(__file__).resolve().parents[2] / "data" / "runbooks"
EXPORTERS = ("containers", "host", "kafka", "kubernetes", "mysql", "redis")


def _entries(pack: str) -> list:
    found = import_rule_file(pack_text(pack))
    assert found.skipped == [], f"{pack}: {found.skipped}"
    return found.entries


def test_the_packs_cover_the_usual_exporters() -> None:
    assert tuple(packs()) == EXPORTERS


@pytest.mark.parametrize("pack", EXPORTERS)
def test_every_rule_is_evaluable_and_links_a_runbook_section(pack: str) -> None:
    runbook = (RUNBOOKS / f"{pack}.md").read_text(encoding="utf-8")
    anchors = {h.strip().lower().replace(" ", "-") for h in re.findall(r"^## (.+)$", runbook,
                                                                       re.MULTILINE)}  # fmt: skip
    for entry in _entries(pack):
        notes = entry.spec["annotations"]
        assert notes["summary"].strip() and notes["description"].strip(), entry.name
        assert entry.rule().severity in ("critical", "warning", "info"), entry.name
        path, anchor = notes["runbook_url"].split("#")
        assert path == f"/runbooks/{pack}.md" and anchor in anchors, entry.name


def test_rule_names_are_unique_across_the_packs_and_the_default() -> None:
    names = [e.name for p in packs() for e in _entries(p)]
    names += [e.name for e in import_rule_file(default_rules_text()).entries]
    assert len(names) == len(set(names))


def test_installed_packs_export_as_promtool_accepts(store: Store, tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    for pack in packs():
        assert install_pack(store, pack, "alice").added
    again = install_pack(store, "host", "bob")
    assert again.unchanged and not again.added and not again.updated
    path = tmp_path / "packs.rules.yml"
    path.write_text(export_rules(store), encoding="utf-8")
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    total = sum(len(_entries(p)) for p in packs())
    assert f"SUCCESS: {total} rules found" in checked.stdout


# --- computed as Prometheus computes it ----------------------------------------------


def _satisfying(op: str, pattern: str) -> str:
    """A label value a matcher accepts (``=``, ``=~``) or one it refuses (``!=``, ``!~``)."""
    if op == "=":
        return pattern
    if op == "!=":
        return pattern + "-other" if pattern else "x"
    candidates = [alt.replace(".*", "x").replace(".+", "x") for alt in pattern.split("|")]
    hits = [c for c in candidates if re.fullmatch(pattern, c)]
    if op == "=~":
        assert hits, pattern
        return hits[0]
    return "zz-other"


def _case(expr: str, rng: np.random.Generator) -> Case:
    """Series for every metric the expression reads, sharing one set of label names so
    its vector matching finds partners, with values that satisfy its matchers."""
    found = selectors(compile_query(expr))
    fixed: dict[str, str] = {}
    for selector, _ in found:
        for name, op, pattern in selector.matchers:
            if name != "__name__":
                fixed[name] = _satisfying(op, pattern)
    metrics = sorted({s.metric for s, _ in found if s.metric})
    series = []
    for entity in ("1", "2", "3"):
        labels = {"instance": f"h-{entity}", "job": fixed.get("job", "node"),
                  "namespace": "shop", "pod": f"pod-{entity}", "container": "app",
                  "device": "sda", "topic": "orders", "consumergroup": f"group-{entity}",
                  **{k: v for k, v in fixed.items() if k != "job"}}  # fmt: skip
        for metric in metrics:
            counter = metric.endswith("_total") or "seconds_total" in metric
            steps = rng.integers(0, 30, MINUTES).astype(float)
            values = np.cumsum(steps) if counter else np.round(rng.uniform(0, 100, MINUTES), 1)
            missing = rng.random(MINUTES) < 0.1
            series.append(Series(metric, labels, values, missing))
    return Case(series, expr)


def _parts(expr: str) -> list[str]:
    """The expression, and its left side when it compares with a number (so the numbers
    it computes are checked even where the comparison filters everything out)."""
    node = compile_query(expr)
    if isinstance(node, Binary) and isinstance(node.rhs, Number) and node.op in COMPARISON:
        top = re.split(r"\s(?:>|<|>=|<=|==|!=)\s[-\d.e+*\s]+$", expr)[0]
        return [expr, top] if top != expr else [expr]
    return [expr]


def test_every_pack_rule_computes_what_prometheus_computes(tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    semantics = Semantics(prometheus_2=prometheus_2(promtool))
    rng = np.random.default_rng(7)
    tests, elements = [], 0
    for pack in packs():
        for entry in _entries(pack):
            for expr in _parts(entry.rule().query):
                case = _case(expr, rng)
                answer = vigil_answer(case, semantics)
                elements += sum(int(present.sum()) for _, _, present in answer)
                tests.append(value_check(case, answer))
    assert elements > 1000, "the synthetic series should make most expressions answer"
    run_unit_tests(promtool, tmp_path, [({"groups": []}, tests)])


def test_the_commands_list_and_install_packs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store.open(data_dir).close()
    done = run_vigil(data_dir, "rules", "install-pack", "redis", "--author", "alice")
    assert done.returncode == 0 and "redis: 7 added, 0 updated, 0 unchanged" in done.stdout
    listed = run_vigil(data_dir, "rules", "packs")
    assert listed.returncode == 0 and "RedisDown" in listed.stdout
    assert re.search(r"^redis\s+7/7 installed", listed.stdout, re.MULTILINE)
    assert re.search(r"^mysql\s+0/8 installed", listed.stdout, re.MULTILINE)
    wrong = run_vigil(data_dir, "rules", "install-pack", "oracle")
    assert wrong.returncode == 2 and "no rule pack 'oracle'" in wrong.stderr
