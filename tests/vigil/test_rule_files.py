"""Prometheus rule files: import what Vigil evaluates (reporting the rest), export what
promtool accepts, and a round trip that gives the file back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analytics.conditions import RuleInputs, rule_vector
from analytics.promql import Data, SampleSet
from analytics.rule_files import RuleEntry, export_rule_file, import_rule_file, prometheus_expr
from analytics.rules import RuleValidationError, load_rules
from tests.conftest import need_binary, run_vigil, serving_engine
from tests.sources.promserver import free_port
from vigil.rules_store import (
    default_rules_text,
    enabled_rules,
    export_rules,
    import_rules,
    rule_entries,
    seed_default_rules,
)
from vigil.store import Store

PROMETHEUS_FILE = """\
groups:
  - name: node
    interval: 30s
    rules:
      - alert: HostDown
        expr: up{job="node"} == 0
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: critical
        annotations:
          summary: '{{ $labels.instance }} is down'
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: DiskFillingFast
        expr: predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0
        for: 5m
      - alert: NoNodeData
        expr: absent(node_load1{instance=~"db-.*"})
        for: 10m
      - alert: TopTalker
        expr: topk(1, rate(node_network_receive_bytes_total[5m])) > 1e8
  - name: api
    rules:
      - alert: ApiErrors
        expr: 'http_errors_ratio{service!="batch"} > 0.05'
        labels:
          severity: warning
          team: 'payments'
        annotations:
          summary: 'errors at {{ $value }} on {{ $labels.service }}'
          runbook_url: https://runbooks.example.com/api-errors
"""


def _rules_only(data: dict, keep: set[str]) -> list[dict]:
    """The file's groups as (name, rules) with only the alerting rules in ``keep``."""
    return [
        {"name": g["name"], "rules": [r for r in g["rules"] if r.get("alert") in keep]}
        for g in data["groups"]
    ]


def test_import_then_export_gives_the_file_back(store: Store) -> None:
    summary = import_rules(store, PROMETHEUS_FILE, author="alice")
    assert summary.added == ["HostDown", "DiskFillingFast", "NoNodeData", "ApiErrors"]
    skipped = {s.name: s for s in summary.skipped}
    assert set(skipped) == {"job:up:sum", "TopTalker"}  # reported, not dropped silently
    assert skipped["job:up:sum"].line == 13 and "recording rules" in skipped["job:up:sum"].reason
    assert skipped["TopTalker"].line == 21 and "topk" in skipped["TopTalker"].reason
    exported = yaml.safe_load(export_rules(store))
    assert exported["groups"] == _rules_only(yaml.safe_load(PROMETHEUS_FILE), set(summary.added))
    again = import_rules(store, export_rules(store), author="bob")
    assert again.unchanged == summary.added and not again.added and not again.updated


def test_a_changed_rule_becomes_a_new_version_with_its_diff(store: Store) -> None:
    import_rules(store, PROMETHEUS_FILE, author="alice")
    edited = PROMETHEUS_FILE.replace("> 0.05", "> 0.02")
    summary = import_rules(store, edited, author="bob")
    assert summary.updated == ["ApiErrors"]
    assert summary.unchanged == ["HostDown", "DiskFillingFast", "NoNodeData"]
    rows = store.df("SELECT * FROM rule_versions WHERE rule_id = 'ApiErrors' ORDER BY version")
    assert rows["version"].tolist() == [1, 2] and rows["author"].tolist() == ["alice", "bob"]
    assert '-expr: http_errors_ratio{service!="batch"} > 0.05' in rows["diff"].iloc[1]
    assert '+expr: http_errors_ratio{service!="batch"} > 0.02' in rows["diff"].iloc[1]
    rule = next(r for r in enabled_rules(store) if r.name == "ApiErrors")
    assert rule.threshold == 0.02


@pytest.mark.parametrize(
    "text, message",
    [
        ("groups: [", "invalid YAML"),
        ("rules: []", "unknown key"),
        (PROMETHEUS_FILE + "      - alert: HostDown\n        expr: up == 0\n", "duplicate"),
    ],
)
def test_a_file_that_is_not_a_rule_file_changes_nothing(store: Store, text, message) -> None:
    seed_default_rules(store)
    before = store.df("SELECT * FROM rules ORDER BY rule_id")
    with pytest.raises(RuleValidationError, match=message):
        import_rules(store, text, author="mallory")
    assert store.df("SELECT * FROM rules ORDER BY rule_id").equals(before)


def test_vigil_only_kinds_export_against_the_engines_series() -> None:
    rules = {r.name: r for r in load_rules(_vigil_kinds())}
    assert prometheus_expr(rules["Odd"]) == (
        'vigil_anomaly_score{metric="api_latency_seconds", service="checkout"} >= 0.95'
    )
    assert prometheus_expr(rules["AnyOdd"]) == 'vigil_anomaly_score{metric=~".+"} >= 0.9'
    band = prometheus_expr(rules["Slow"])
    assert band.startswith('vigil_series_value{metric="api_latency_seconds"} > (')
    assert "* 1.3333333333333333" in band  # k = 4 over the detector's band of 3
    assert prometheus_expr(rules["Hot"]) == 'node_temp_celsius{zone="a"} >= 80.0'


def _vigil_kinds() -> str:
    return """\
groups:
  - name: vigil
    rules:
      - alert: Odd
        expr: api_latency_seconds{service="checkout"}
        vigil: {kind: score, min_score: 0.95}
      - alert: AnyOdd
        expr: '{__name__=~".+"}'
        vigil: {kind: score}
      - alert: Slow
        expr: api_latency_seconds
        vigil: {kind: band, k: 4, direction: up}
      - alert: Calm
        expr: api_latency_seconds
        vigil: {kind: band, direction: both}
      - alert: Hot
        expr: node_temp_celsius{zone="a"}
        vigil: {kind: threshold, op: ">=", threshold: 80}
"""


def test_exports_pass_promtool_check_rules(store: Store, tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    seed_default_rules(store)
    import_rules(store, PROMETHEUS_FILE, author="alice")
    import_rules(store, _vigil_kinds(), author="alice")
    assert {e.group for e in rule_entries(store)} == {"vigil-default", "node", "api", "vigil"}
    path = tmp_path / "vigil.rules.yml"
    path.write_text(export_rules(store), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_entries(store))} rules found" in checked.stdout


def test_import_alone_reports_without_a_store() -> None:
    result = import_rule_file(PROMETHEUS_FILE)
    assert [e.group for e in result.entries] == ["node", "node", "node", "api"]


def test_the_commands_import_report_and_export(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "prometheus.rules.yml"
    source.write_text(PROMETHEUS_FILE, encoding="utf-8")
    done = run_vigil(data_dir, "rules", "import", str(source), "--author", "carol")
    assert done.returncode == 0, done.stderr
    assert "4 added, 0 updated, 0 unchanged, 2 not imported" in done.stdout
    assert "not imported: TopTalker (line 21: aggregation topk is not supported" in done.stdout
    out = tmp_path / "exported.yml"
    exported = run_vigil(data_dir, "rules", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert [g["name"] for g in yaml.safe_load(out.read_text())["groups"]] == ["node", "api"]
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"groups:\n  - name: \xff\n")
    refused = run_vigil(data_dir, "rules", "import", str(bad))
    assert refused.returncode == 2 and "not UTF-8" in refused.stderr
    assert "Traceback" not in refused.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules: [\n", encoding="utf-8")
    refused = run_vigil(data_dir, "rules", "import", str(broken))
    assert refused.returncode == 2 and "invalid YAML" in refused.stderr
    assert "nothing was imported" in refused.stderr


def test_while_the_engine_runs_export_goes_through_its_port(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    with serving_engine(data_dir, port):
        exported = run_vigil(data_dir, "rules", "export", port=port)
        assert exported.returncode == 0, exported.stderr
        names = [r["alert"] for g in yaml.safe_load(exported.stdout)["groups"] for r in g["rules"]]
        assert names == [r.name for r in load_rules(default_rules_text())]
        source = tmp_path / "r.yml"
        source.write_text(PROMETHEUS_FILE, encoding="utf-8")
        held = run_vigil(data_dir, "rules", "import", str(source), port=port)
        assert held.returncode == 2 and "stop it to import rules" in held.stderr


def test_prometheus_fires_exported_vigil_rules_when_vigil_would(tmp_path: Path) -> None:
    """promtool evaluates the exported score and band rules over the series the engine
    serves; its alerts are the ones Vigil's own conditions give on the same numbers."""
    promtool = need_binary("promtool")
    rules = [r for r in load_rules(_vigil_kinds()) if r.kind in ("score", "band")]
    values = np.array([[1.0, 1.6, 5.0, 0.2, 1.0], [1.0, 0.45, 1.2, 1.68, 1.0]])
    scores = np.array([[0.2, 0.5, 0.99, 0.95, 0.1], [0.3, 0.96, 0.2, 0.7, 0.94]])
    lower, upper = np.full(values.shape, 0.5), np.full(values.shape, 1.5)
    instances = ["a", "b"]
    inputs = _inputs_per_minute(instances, values, scores, lower, upper)
    series = []
    served = {"vigil_series_value": values, "vigil_anomaly_score": scores,
              "vigil_baseline_lower": lower, "vigil_baseline_upper": upper}  # fmt: skip
    for name, data in served.items():
        for row, instance in enumerate(instances):
            labels = f'metric="api_latency_seconds", instance="{instance}", service="checkout"'
            series.append({"series": f"{name}{{{labels}}}",
                           "values": " ".join(repr(float(v)) for v in data[row])})  # fmt: skip
    cases = []
    for rule in rules:
        vector = rule_vector(rule, inputs)
        active = np.zeros(values.shape, dtype=bool)
        active[vector.sources] = vector.present
        for minute in range(values.shape[1]):
            cases.append({
                "eval_time": f"{minute}m", "alertname": rule.name,
                "exp_alerts": [
                    {"exp_labels": {"metric": "api_latency_seconds", "instance": instances[row],
                                    "service": "checkout"}}
                    for row in range(len(instances)) if active[row, minute]
                ],
            })  # fmt: skip
    fired = sum(len(c["exp_alerts"]) for c in cases)
    assert 0 < fired < len(cases) * len(instances)  # the case tells firing from quiet
    entries = [RuleEntry("vigil", spec) for spec in yaml.safe_load(_vigil_kinds())["groups"][0]
               ["rules"] if spec["alert"] in {r.name for r in rules}]  # fmt: skip
    (tmp_path / "rules.yml").write_text(export_rule_file(entries), encoding="utf-8")
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": cases}],
    }), encoding="utf-8")  # fmt: skip
    done = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _inputs_per_minute(instances: list[str], *columns: np.ndarray) -> RuleInputs:
    """Rule inputs of api_latency_seconds per instance: value, score, lower and upper at
    every minute, evaluated at every minute."""
    labels = [{"instance": i, "service": "checkout"} for i in instances]
    catalog = pd.DataFrame({"metric": "api_latency_seconds", "labels": labels})
    rows, minutes = np.indices(columns[0].shape)
    sets = [
        SampleSet.from_arrays(rows.ravel(), minutes.ravel() * 60_000, c.ravel(), len(instances))
        for c in columns
    ]
    data = Data(catalog, sets[0], np.arange(columns[0].shape[1]) * 60_000)
    return RuleInputs(data, dict(zip(("score", "lower", "upper"), sets[1:], strict=True)))
