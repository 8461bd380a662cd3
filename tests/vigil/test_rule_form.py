"""The rule form reads and writes the rule's YAML without losing what it does not show."""

from __future__ import annotations

import yaml

from vigil.rule_form import GENERAL, field_errors, form_values, form_yaml

RULE = """alert: DiskFilling
expr: predict_linear(node_filesystem_free_bytes[6h], 86400) < 0
for: 10m
labels:
  severity: warning
  team: storage
annotations:
  summary: Disk filling up
  dashboard: https://grafana.example/d/disk
"""


def test_fields_round_trip_and_other_keys_survive() -> None:
    values = form_values(RULE)
    assert values["severity"] == "warning" and values["summary"] == "Disk filling up"
    assert values["description"] == ""
    values |= {"severity": "critical", "summary": "", "description": "Fills within a day"}
    spec = yaml.safe_load(form_yaml(RULE, values))
    assert spec["labels"] == {"severity": "critical", "team": "storage"}
    assert spec["annotations"] == {"dashboard": "https://grafana.example/d/disk",
                                   "description": "Fills within a day"}  # fmt: skip
    assert spec["expr"].startswith("predict_linear") and spec["for"] == "10m"


def test_errors_are_keyed_by_the_field_they_are_about() -> None:
    bad_for = form_yaml(RULE, form_values(RULE) | {"for": "ten minutes"})
    assert list(field_errors(bad_for, "g")) == ["for"]
    bad_expr = form_yaml(RULE, form_values(RULE) | {"expr": "up =="})
    assert "compare the selector with a number" in field_errors(bad_expr, "g")["expr"]
    assert field_errors(form_yaml(RULE, form_values(RULE) | {"alert": ""}), "g") == {
        "alert": "missing"}  # fmt: skip
    odd = RULE.replace("team: storage", "bad-name: x")
    assert "labels.bad-name" in field_errors(odd, "g")[GENERAL]
    assert field_errors(RULE, "g") == {}


def test_unreadable_yaml_gives_an_empty_form_not_an_exception() -> None:
    assert set(form_values("alert: [unclosed").values()) == {""}
    assert GENERAL in field_errors("alert: [unclosed", "g")
