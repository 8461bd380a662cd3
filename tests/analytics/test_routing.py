"""The routing tree takes the routes Alertmanager takes: checked against Debian's
``amtool config routes test`` on random trees and label sets, plus inheritance, keys and
time muting."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analytics.dispatch import GroupingPolicy
from analytics.routing import build_route, defaults, match, walk
from analytics.time_intervals import parse_spec
from tests.conftest import need_binary

LABELS = {"service": ["web", "mysql", "redis", ""], "severity": ["critical", "warning", ""],
          "region": ["eu", "us", ""], "team": ["db", "sre", ""]}  # fmt: skip
OPS = ["=", "!=", "=~", "!~"]


def _matcher(rng: random.Random) -> str:
    name = rng.choice(list(LABELS))
    op = rng.choice(OPS)
    values = [v for v in LABELS[name] if v]
    value = "|".join(rng.sample(values, rng.randint(1, 2))) if "~" in op else rng.choice(values)
    return f'{name}{op}"{value}"'


def _tree(rng: random.Random, names: list[str], depth: int = 0) -> dict:
    node: dict = {"receiver": f"r{len(names)}"}
    names.append(node["receiver"])
    if depth:
        node["matchers"] = [_matcher(rng) for _ in range(rng.randint(1, 2))]
        node["continue"] = rng.random() < 0.4
    if depth < 3:
        children = [_tree(rng, names, depth + 1) for _ in range(rng.randint(0, 3))]
        if children:
            node["routes"] = children
    return node


def _labels(rng: random.Random) -> dict[str, str]:
    return {k: v for k, vs in LABELS.items() if (v := rng.choice(vs))}


def _amtool(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    args = [f"{k}={v}" for k, v in labels.items()] or ["alertname=x"]
    out = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *args],
                         capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    return out.stdout.strip().split(",")


@pytest.mark.integration
def test_random_trees_route_like_alertmanager(tmp_path: Path) -> None:
    amtool = need_binary("amtool")
    rng = random.Random(7)
    for case in range(12):
        names: list[str] = []
        tree = _tree(rng, names)
        config = tmp_path / f"am-{case}.yml"
        receivers = [{"name": n} for n in names]
        config.write_text(yaml.safe_dump({"route": tree, "receivers": receivers}))
        spec = yaml.safe_load(config.read_text())["route"]
        spec = _as_settings(spec)
        root = build_route(spec, defaults(GroupingPolicy()))
        for _ in range(10):
            labels = _labels(rng) or {"alertname": "x"}
            ours = [r.receiver for r in match(root, labels)]
            assert ours == _amtool(amtool, config, labels), (tree, labels)


def _as_settings(node: dict) -> dict:
    """Alertmanager's YAML keys as the settings' (``continue`` → ``continue_``)."""
    out = {k: v for k, v in node.items() if k not in ("continue", "routes")}
    out["continue_"] = node.get("continue", False)
    out["routes"] = [_as_settings(child) for child in node.get("routes", [])]
    return out


def test_children_inherit_what_they_leave_unset() -> None:
    root = build_route(
        {"receiver": "ops", "group_by": ["service"], "group_wait_seconds": 10,
         "routes": [{"matchers": ['severity="critical"'], "group_by": ["instance"],
                     "routes": [{"matchers": ['team="db"'], "receiver": "dba"}]}]},
        defaults(GroupingPolicy(("cluster",), 30, 300, 3600)),
    )  # fmt: skip
    [child] = root.routes
    [grandchild] = child.routes
    assert (root.policy.group_by, root.policy.group_wait_seconds) == (("service",), 10)
    assert root.policy.repeat_interval_seconds == 3600  # from the global defaults
    assert (child.receiver, child.policy.group_by) == ("ops", ("instance",))
    assert (grandchild.receiver, grandchild.policy.group_wait_seconds) == ("dba", 10)
    labels = {"severity": "critical", "team": "db"}
    assert [r.receiver for r in match(root, labels)] == ["dba"]
    assert [r.receiver for r in match(root, {"severity": "warning"})] == ["ops"]


def test_route_keys_are_alertmanagers_and_distinct() -> None:
    root = build_route(
        {"receiver": "a", "routes": [
            {"receiver": "b", "matchers": ['severity="critical"']},
            {"receiver": "c", "continue_": True},
            {"receiver": "d", "continue_": True}]},
        defaults(GroupingPolicy()),
    )  # fmt: skip
    keys = [r.key for r in walk(root)]
    assert keys[:2] == ["{}", '{}/{severity="critical"}']
    assert len(set(keys)) == len(keys)


def test_a_route_is_held_inside_its_mute_interval_and_outside_its_active_one() -> None:
    nights = [parse_spec({"times": [{"start_time": "22:00", "end_time": "24:00"}],
                          "location": "Asia/Shanghai"})]  # fmt: skip
    weekdays = [parse_spec({"weekdays": ["monday:friday"]})]
    root = build_route(
        {"receiver": "a", "routes": [
            {"receiver": "quiet", "mute_time_intervals": ["nights"], "continue_": True},
            {"receiver": "office", "active_time_intervals": ["weekdays"]}]},
        defaults(GroupingPolicy()),
    )  # fmt: skip
    quiet, office = root.routes
    intervals = {"nights": nights, "weekdays": weekdays}
    tuesday_23_shanghai = pd.Timestamp("2026-12-01 15:30")  # UTC
    assert quiet.muted_at(tuesday_23_shanghai, intervals)
    assert not quiet.muted_at(pd.Timestamp("2026-12-01 03:00"), intervals)
    assert not office.muted_at(tuesday_23_shanghai, intervals)
    assert office.muted_at(pd.Timestamp("2026-12-05 10:00"), intervals)  # a Saturday
