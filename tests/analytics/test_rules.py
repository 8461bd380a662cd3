from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from analytics.rules import (
    MODEL_BAND_K,
    Rule,
    RuleValidationError,
    load_rules,
    parse_duration,
    render_annotations,
    select_series,
)


def rule_file(body: str) -> str:
    """A one-group rule file around ``body`` (the rules list, indented as written)."""
    return "groups:\n  - name: g\n    rules:\n" + textwrap.indent(textwrap.dedent(body), "      ")


def one(body: str) -> Rule:
    rules = load_rules(rule_file(body))
    assert len(rules) == 1
    return rules[0]


def error(text: str) -> RuleValidationError:
    with pytest.raises(RuleValidationError) as caught:
        load_rules(text)
    return caught.value


CATALOG = pd.DataFrame(
    {
        "metric": ["cpu", "cpu", "cpu", "mem", "node_load1", "http_request_duration_seconds"],
        "labels": [
            {"env": "prod", "instance": "a"},
            {"env": "prod-eu", "instance": "b"},
            {"instance": "c"},
            {"env": "prod", "instance": "a"},
            {"job": "node"},
            {"service": "orders"},
        ],
    }
)


# --- parsing each kind -----------------------------------------------------------------


def test_threshold_rule_from_prometheus_expression() -> None:
    rule = one(
        """
        - alert: HighCpu
          expr: cpu{env="prod", instance=~"a|b"} > 0.9
          for: 5m
          keep_firing_for: 10m
          labels: {severity: critical, team: sre}
          annotations: {summary: high}
        """
    )
    assert (rule.name, rule.group, rule.kind) == ("HighCpu", "g", "threshold")
    assert rule.metric == "cpu"
    assert rule.matchers == (("env", "=", "prod"), ("instance", "=~", "a|b"))
    assert (rule.op, rule.threshold) == (">", 0.9)
    assert (rule.for_seconds, rule.keep_firing_for_seconds) == (300, 600)
    assert rule.severity == "critical"
    assert dict(rule.labels) == {"severity": "critical", "team": "sre"}
    assert dict(rule.annotations) == {"summary": "high"}
    assert rule.expr == 'cpu{env="prod", instance=~"a|b"} > 0.9'


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "==", "!="])
def test_every_comparison_is_accepted(op: str) -> None:
    rule = one(f"- alert: A\n  expr: 'mem {op} -1.5e3'\n")
    assert (rule.op, rule.threshold) == (op, -1500.0)


def test_threshold_given_in_vigil_options() -> None:
    rule = one("- alert: A\n  expr: mem\n  vigil: {kind: threshold, op: '<', threshold: 3}\n")
    assert (rule.kind, rule.op, rule.threshold) == ("threshold", "<", 3.0)


def test_score_rule_with_defaults_and_many_series() -> None:
    rule = one("- alert: S\n  expr: '{__name__=~\".+\"}'\n  vigil: {kind: score}\n")
    assert rule.kind == "score"
    assert rule.metric is None
    assert rule.min_score == 0.9
    assert rule.severity == "warning"
    assert select_series(rule, CATALOG).all()


def test_score_rule_with_min_score() -> None:
    rule = one(
        '- alert: S\n  expr: http_requests_per_second{service="orders"}\n'
        "  vigil: {kind: score, min_score: 0.75}\n"
    )
    assert (rule.metric, rule.matchers, rule.min_score) == (
        "http_requests_per_second",
        (("service", "=", "orders"),),
        0.75,
    )


def test_band_rule() -> None:
    rule = one("- alert: B\n  expr: cpu\n  vigil: {kind: band, k: 2.5, direction: up}\n")
    assert (rule.kind, rule.band_k, rule.direction) == ("band", 2.5, "up")
    assert rule.model_band_k == MODEL_BAND_K == 3.0


def test_band_rule_defaults() -> None:
    rule = one("- alert: B\n  expr: cpu\n  vigil: {kind: band}\n")
    assert (rule.band_k, rule.direction) == (3.0, "both")


def test_absent_rule_from_function_and_from_kind() -> None:
    from_function = one('- alert: A\n  expr: absent(up{job="x"})\n  for: 5m\n')
    from_kind = one('- alert: A\n  expr: up{job="x"}\n  for: 5m\n  vigil: {kind: absent}\n')
    for rule in (from_function, from_kind):
        assert (rule.kind, rule.metric, rule.matchers) == ("absent", "up", (("job", "=", "x"),))


def test_name_matcher_becomes_the_metric() -> None:
    rule = one('- alert: A\n  expr: \'{__name__="cpu", env="prod"} > 1\'\n')
    assert (rule.metric, rule.matchers) == ("cpu", (("env", "=", "prod"),))


def test_rules_are_frozen_hashable_and_equal_across_loads() -> None:
    text = rule_file("- alert: A\n  expr: cpu > 1\n  labels: {severity: page}\n")
    first, second = load_rules(text)[0], load_rules(text)[0]
    assert first == second
    assert hash(first) == hash(second)
    with pytest.raises(AttributeError):
        first.name = "B"  # type: ignore[misc]
    assert {**first.labels, "x": "y"} == {"severity": "page", "x": "y"}


def test_rules_from_many_groups_keep_their_group() -> None:
    text = textwrap.dedent(
        """
        groups:
          - name: one
            interval: 1m
            rules:
              - {alert: A, expr: cpu > 1}
          - name: two
            rules:
              - {alert: B, expr: mem > 1}
        """
    )
    assert [(r.name, r.group) for r in load_rules(text)] == [("A", "one"), ("B", "two")]


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("1w", 604800),
     ("0s", 0), (90, 90), ("120", 120)],
)  # fmt: skip
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "m5", "1.5m", "", "-5m", "5m1h", True])
def test_invalid_durations(text: object) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_plain_integer_for_is_seconds() -> None:
    assert one("- alert: A\n  expr: cpu > 1\n  for: 45\n").for_seconds == 45


# --- matchers --------------------------------------------------------------------------


def select(expr: str) -> list[int]:
    rule = one(f"- alert: A\n  expr: '{expr}'\n  vigil: {{kind: score}}\n")
    return list(np.flatnonzero(select_series(rule, CATALOG)))


def test_equality_matchers() -> None:
    assert select('cpu{env="prod"}') == [0]
    assert select('cpu{env!="prod"}') == [1, 2]  # a missing label is the empty string


def test_regex_matchers_are_fully_anchored() -> None:
    assert select('cpu{env=~"prod"}') == [0]
    assert select('cpu{env=~"prod.*"}') == [0, 1]
    assert select('cpu{env!~"prod"}') == [1, 2]
    assert select('{instance=~"a"}') == [0, 3]
    assert select('cpu{env=~"rod"}') == []


def test_regex_on_metric_name() -> None:
    assert select('{__name__=~"node_.*"}') == [4]
    assert select('{__name__=~".*duration.*"}') == [5]
    assert select('{job="node"}') == [4]


def test_quoting_styles_and_trailing_comma() -> None:
    assert select('cpu{env="prod",}') == [0]
    assert select("cpu{env=`prod-eu`}") == [1]


def test_metric_with_empty_braces() -> None:
    assert select("mem{}") == [3]


def test_select_series_on_empty_catalog() -> None:
    rule = one("- alert: A\n  expr: cpu > 1\n")
    empty = pd.DataFrame({"metric": pd.Series([], dtype=object), "labels": []})
    assert select_series(rule, empty).shape == (0,)


# --- validation errors name the line and the field --------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "field", "fragment"),
    [
        ("- alert: A\n  expr: cpu > 1\n  for: 5x\n", 6, "for", "invalid duration '5x'"),
        ("- alert: A\n  expr: cpu > 1\n  keep_firing_for: soon\n", 6, "keep_firing_for",
         "invalid duration"),
        ("- alert: A\n  expr: topk(3, cpu) > 1\n", 5, "expr", "topk is not supported yet"),
        ("- alert: A\n  expr: histogram_quantile(0.9, x) > 1\n", 5, "expr",
         "histogram_quantile() is not supported yet"),
        ("- alert: A\n  expr: cpu[5m]\n", 5, "expr", "range vector cannot be"),
        ("- alert: A\n  expr: rate(cpu) > 1\n", 5, "expr", "expected type matrix"),
        ("- alert: A\n  expr: 'cpu @ 100 > 1'\n", 5, "expr", "@ modifier"),
        ("- alert: A\n  expr: 'max_over_time(cpu[1h:5m]) > 1'\n", 5, "expr", "subqueries"),
        ("- alert: A\n  expr: 'cpu offset -5m > 1'\n", 5, "expr", "negative offsets"),
        ("- alert: A\n  expr: rate(cpu[5m])\n  vigil: {kind: score}\n", 5, "expr",
         "kind score takes a series selector"),
        ("- alert: A\n  expr: 'cpu{env=~\"(\"} > 1'\n", 5, "expr", "illegal regex"),
        ("- alert: A\n  expr: '{env=~\".*\"}'\n  vigil: {kind: score}\n", 5, "expr",
         "at least one non-empty matcher"),
        ("- alert: A\n  expr: 'cpu{__name__=\"x\"}'\n  vigil: {kind: score}\n", 5, "expr",
         "twice"),
        ("- alert: A\n  expr: cpu > \n", 5, "expr", "invalid PromQL"),
        ("- alert: A\n  expr: cpu\n", 5, "expr", "comparison"),
        ("- alert: A\n  expr: cpu > 1\n  vigil: {kind: score}\n", 5, "expr", "kind score"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: magic}\n", 6, "vigil.kind", "unknown kind"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: score, k: 3}\n", 6, "vigil.k", "band"),
        ("- alert: A\n  expr: cpu\n  vigil:\n    kind: band\n    direction: sideways\n", 8,
         "vigil.direction", "up, down, both"),
        ("- alert: A\n  expr: cpu\n  vigil:\n    kind: score\n    min_score: 2\n", 8,
         "vigil.min_score", "between 0 and 1"),
        ("- alert: A\n  expr: cpu\n  vigil:\n    kind: band\n    k: lots\n", 8, "vigil.k",
         "number"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: threshold}\n", 5, "expr", "threshold"),
        ("- alert: A\n  expr: cpu > 1\n  vigil: {kind: threshold, op: '<'}\n", 6, "vigil.op",
         "not both"),
        ("- alert: A\n  expr: cpu > 1\n  vigil:\n    kind: threshold\n    op: '<'\n", 8,
         "vigil.op", "not both"),
        ("- alert: A\n  expr: absent(cpu)\n  vigil:\n    op: '<'\n", 7, "vigil.op",
         "only applies to kind threshold or forecast"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: forecast}\n", 6, "vigil",
         "needs vigil.threshold"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: forecast, threshold: 1, horizon: soon}\n",
         6, "vigil.horizon", "invalid duration"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: absent, within: 0s}\n", 6, "vigil.within",
         "longer than 0s"),
        ("- alert: A\n  expr: cpu\n  vigil: {kind: score, within: 1h}\n", 6, "vigil.within",
         "only applies to kind absent"),
        ("- alert: A\n  expr: absent(cpu)\n  vigil: {kind: band}\n", 5, "expr",
         "cannot be used with kind band"),
        ("- alert: A\n  expr: 'cpu{env=\"a\" x=\"b\"} > 1'\n", 5, "expr", "between label"),
        ("- alert: A\n  expr: 'cpu{env=\"a\"'\n  vigil: {kind: score}\n", 5, "expr",
         "end of input inside braces"),
        ("- alert: A\n  expr: cpu > 1\n  severity: page\n", 6, "severity", "unknown key"),
        ("- alert: A\n  expr: cpu > 1\n  labels:\n    bad-name: x\n", 7, "labels.bad-name",
         "label name"),
        ("- alert: A\n  expr: cpu > 1\n  labels:\n    team: [a, b]\n", 7, "labels.team",
         "single value"),
        ("- record: job:cpu:sum\n  expr: cpu\n", 4, "record", "recording rules"),
        ("- expr: cpu > 1\n", 4, "alert", "missing"),
        ("- alert: A\n", 4, "expr", "missing"),
        ("- alert: A\n  expr: cpu > 1\n- alert: A\n  expr: mem > 1\n", 6, "alert",
         "duplicate alert name 'A' (first on line 4)"),
        ("- alert: A\n  alert: B\n  expr: cpu > 1\n", 5, "alert", "duplicate key"),
    ],
)  # fmt: skip
def test_validation_errors_name_line_and_field(
    body: str, line: int, field: str, fragment: str
) -> None:
    err = error(rule_file(body))
    assert (err.line, err.field) == (line, field), str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"line {line}, field '{field}': ")


def test_error_message_format() -> None:
    err = error(rule_file("- alert: A\n  expr: cpu > 1\n  for: 5x\n"))
    assert str(err) == "line 6, field 'for': invalid duration '5x' (use 30s, 5m, 1h)"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("", 1, "groups"),
        ("# only a comment\n", 1, "groups"),
        ("groups: [\n", 2, None),
        ("groups:\n  - name: g\n   rules: []\n", 3, None),
        ("rules: []\n", 1, "rules"),
        ("groups: []\n", 1, "groups"),
        ("groups: 3\n", 1, "groups"),
        ("- a\n- b\n", 1, None),
        ("groups:\n  - rules: []\n", 2, "name"),
        ("groups:\n  - name: g\n", 2, "rules"),
        ("groups:\n  - name: g\n    rules: {a: 1}\n", 3, "rules"),
        ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", 4, "name"),
        ("groups:\n  - name: g\n    interval: often\n    rules: []\n", 3, "interval"),
        ("groups:\n  - name: g\n    owner: me\n    rules: []\n", 3, "owner"),
    ],
)
def test_file_level_errors(text: str, line: int, field: str | None) -> None:
    err = error(text)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert str(err).startswith(f"line {line}")


def test_an_error_anywhere_returns_no_rules() -> None:
    text = rule_file("- alert: Good\n  expr: cpu > 1\n- alert: Bad\n  expr: cpu > 1\n  for: x\n")
    with pytest.raises(RuleValidationError):
        load_rules(text)


# --- annotation templates --------------------------------------------------------------


def annotated(**annotations: str) -> Rule:
    return Rule(
        name="A", group="g", kind="threshold", expr="cpu > 1",
        annotations=dict(annotations),  # type: ignore[arg-type]
    )  # fmt: skip


def test_labels_and_value_templates() -> None:
    rule = annotated(
        summary="{{ $labels.instance }} is at {{ $value }}",
        plain="{{$labels.instance}}/{{ .Labels.instance }}/{{ .Value }}",
    )
    out = render_annotations(rule, {"instance": "web-1"}, 0.95)
    assert out == {"summary": "web-1 is at 0.95", "plain": "web-1/web-1/0.95"}


def test_missing_label_renders_empty() -> None:
    out = render_annotations(annotated(s="[{{ $labels.missing }}]"), {}, 1.0)
    assert out == {"s": "[]"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.0, "3"), (0.1, "0.1"), (123456.0, "123456"), (1234567.0, "1.234567e+06"),
     (1e6, "1e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"),
     (float("nan"), "NaN"), (float("inf"), "+Inf")],
)  # fmt: skip
def test_value_prints_like_go(value: float, expected: str) -> None:
    assert render_annotations(annotated(v="{{ $value }}"), {}, value) == {"v": expected}


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ("{{ $value | humanize }}", 1234567.0, "1.235M"),
        ("{{ $value | humanize }}", 0.0123, "12.3m"),
        ("{{ $value | humanize }}", 0.0, "0"),
        ("{{ $value | humanize }}", 999.0, "999"),
        ("{{ $value | humanizePercentage }}", 0.1234, "12.34%"),
        ("{{ $value | humanizePercentage }}", 0.5, "50%"),
        ("{{ $value | humanizeDuration }}", 3725.0, "1h 2m 5s"),
        ("{{ $value | humanizeDuration }}", 90061.0, "1d 1h 1m 1s"),
        ("{{ $value | humanizeDuration }}", 1.5, "1.5s"),
        ("{{ $value | humanizeDuration }}", 0.25, "250ms"),
        ('{{ printf "%.2f" $value }}', 3.14159, "3.14"),
        ('{{ $value | printf "%.1f" }}', 2.25, "2.2"),
        ("{{ $labels.job | toUpper }}", 1.0, "NODE"),
    ],
)
def test_template_functions(template: str, value: float, expected: str) -> None:
    assert render_annotations(annotated(t=template), {"job": "node"}, value) == {"t": expected}


@pytest.mark.parametrize(
    "template",
    ["{{ $externalLabels.dc }}", "{{ range . }}x{{ end }}", "{{ $value | nonsense }}",
     "{{ query \"up\" }}", "{{ $labels.job | humanize }}", "{{- $value -}}", "{{ unclosed"],
)  # fmt: skip
def test_unknown_templates_are_left_as_written(template: str) -> None:
    assert render_annotations(annotated(t=template), {"job": "node"}, 1.0) == {"t": template}


def test_render_mixes_known_and_unknown() -> None:
    rule = annotated(t="{{ $labels.job }} {{ weird }} {{ $value | humanize }}")
    assert render_annotations(rule, {"job": "n"}, 2000.0) == {"t": "n {{ weird }} 2k"}
