"""Vigil fires and resolves static rules at the same evaluation times as Prometheus.

Random series and threshold rules are evaluated by Vigil's evaluate job on a real store;
for every minute, the set of alerts Vigil has firing becomes the expectation of a
``promtool test rules`` unit test over the same input. promtool (Prometheus' own rule
engine) then checks Vigil's answer minute by minute.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from jobs.evaluate import evaluate_window
from jobs.scoring import ModelCache
from tests.conftest import need_binary
from vigil.ingest import ingest
from vigil.sources.base import PullResult
from vigil.store import Store

T0 = pd.Timestamp("2026-01-01 00:00")
CASES = 200  # the rules issue asks for at least 200 random cases
MINUTES = 45


def _random_case(rng: np.random.Generator, case: int) -> dict:
    """A few series of one metric (some minutes missing) and one rule over it."""
    metric = f"load_{case}"
    series = []
    for i in range(int(rng.integers(1, 4))):
        values = np.round(rng.uniform(0, 10, MINUTES), 1)
        missing = rng.random(MINUTES) < rng.choice([0.0, 0.1, 0.3])
        series.append({"labels": {"instance": f"host-{i}"}, "values": values, "missing": missing})
    rule = {
        "alert": f"LoadHigh{case}",
        "expr": f"{metric} {rng.choice(['>', '>=', '<'])} {float(rng.integers(2, 9))}",
        "labels": {"severity": str(rng.choice(["warning", "critical"]))},
    }
    if (for_minutes := int(rng.choice([0, 0, 1, 2, 3, 5]))) > 0:
        rule["for"] = f"{for_minutes}m"
    if (keep := int(rng.choice([0, 0, 1, 2, 4]))) > 0:
        rule["keep_firing_for"] = f"{keep}m"
    return {"metric": metric, "series": series, "rule": rule}


def _vigil_firing(store: Store, cases: list[dict], left_closed: bool) -> list[dict]:
    """Run Vigil's evaluate job over every case at once (each has its own metric and
    rule); for each case, the labels firing at each minute."""
    minutes = np.arange(MINUTES)
    rows, catalog = [], []
    for case in cases:
        for s in case["series"]:
            key = f'{case["metric"]}{{instance="{s["labels"]["instance"]}"}}'
            catalog.append({"series_key": key, "metric": case["metric"], "labels": s["labels"],
                            "unit": None, "service": None, "host": None})  # fmt: skip
            keep = ~s["missing"]
            ts = T0 + pd.to_timedelta(minutes[keep], unit="m")
            rows.append(pd.DataFrame({"series_key": key, "value": s["values"][keep], "ts": ts}))
        rule = case["rule"]
        store.execute(
            "INSERT INTO rules (rule_id, kind, enabled, severity, spec, current_version, "
            "updated_at, updated_by) VALUES (?, 'threshold', TRUE, ?, ?, 1, ?, 'test')",
            [rule["alert"], rule["labels"]["severity"], json.dumps(rule), T0.to_pydatetime()],
        )
    ingest(store, "file", PullResult(pd.concat(rows), pd.DataFrame(catalog)))
    end = T0 + pd.Timedelta(minutes=MINUTES - 1)
    evaluate_window(store, ModelCache(), T0, end, 60, lookback_left_closed=left_closed)
    return [_firing(store, case["rule"]["alert"]) for case in cases]


def _firing(store: Store, rule_name: str) -> dict[int, list[dict]]:
    minutes = np.arange(MINUTES)
    alerts = store.df(
        "SELECT labels, fired_at, resolved_at FROM alerts "
        "WHERE rule_id = ? AND fired_at IS NOT NULL",
        [rule_name],
    )
    firing: dict[int, list[dict]] = {m: [] for m in minutes}
    for alert in alerts.itertuples(index=False):
        labels = {k: v for k, v in json.loads(alert.labels).items() if k != "alertname"}
        start = int((alert.fired_at - T0) / pd.Timedelta(minutes=1))
        end = (
            MINUTES
            if pd.isna(alert.resolved_at)
            else int((alert.resolved_at - T0) / pd.Timedelta(minutes=1))
        )
        for m in range(start, end):
            firing[m].append(labels)
    return firing


def _promtool_test(case: dict, firing: dict[int, list[dict]]) -> dict:
    def values(s: dict) -> str:
        return " ".join("_" if gone else f"{v:g}" for v, gone in zip(s["values"], s["missing"],
                                                                    strict=True))  # fmt: skip

    return {
        "interval": "1m",
        "input_series": [
            {
                "series": f'{case["metric"]}{{instance="{s["labels"]["instance"]}"}}',
                "values": values(s),
            }
            for s in case["series"]
        ],
        "alert_rule_test": [
            {
                "eval_time": f"{m}m",
                "alertname": case["rule"]["alert"],
                "exp_alerts": [{"exp_labels": labels} for labels in firing[m]],
            }
            for m in range(MINUTES)
        ],
    }


def _prometheus_2(promtool: str) -> bool:
    """Prometheus 2.x counts a sample exactly 5 minutes old as current; 3.x does not."""
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True)
    found = re.search(r"version (\d+)\.", version.stdout + version.stderr)
    return found is not None and int(found.group(1)) < 3


def test_vigil_and_promtool_agree_on_every_evaluation(tmp_path: Path) -> None:
    promtool = need_binary("promtool")
    rng = np.random.default_rng(20261125)
    cases = [_random_case(rng, case) for case in range(CASES)]
    store = Store.open(tmp_path / "vigil")
    try:
        firings = _vigil_firing(store, cases, _prometheus_2(promtool))
    finally:
        store.close()
    tests = [_promtool_test(case, firing) for case, firing in zip(cases, firings, strict=True)]
    fired = sum(len(v) for firing in firings for v in firing.values())
    assert fired > 100, "the random cases should exercise firing alerts"
    rules = {"groups": [{"name": "equivalence", "interval": "1m",
                         "rules": [case["rule"] for case in cases]}]}  # fmt: skip
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    spec = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(spec))
    result = subprocess.run(
        [promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
