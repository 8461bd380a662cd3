"""Alert rows from the episodes of a rule's elements: labels, fingerprint, annotations.

An evaluation replays its whole window, so every tick turns thousands of episodes back
into rows, mostly the same ones as the tick before. What an element's episodes share
(labels, their JSON, the fingerprint, its series and service) is worked out once and kept
across ticks; annotations are rendered once per element unless they show the value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from analytics.promql import Vector
from analytics.promql.vectors import NAME
from analytics.rules import Rule, render_annotations
from vigil.labels import labels_json

TIMES = ("active_at", "fired_at", "resolved_at", "last_eval_at")


def fingerprint(rule_name: str, labels: Mapping[str, str]) -> str:
    return hashlib.sha1(f"{rule_name}\x00{labels_json(dict(labels))}".encode()).hexdigest()[:16]


def without_name(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != NAME}


def alert_labels(rule: Rule, element: Mapping[str, str]) -> dict[str, str]:
    """An alert's labels: its element's (without the metric name, as in Prometheus),
    the rule's, ``alertname``, and the severity."""
    labels = {**without_name(element), **rule.labels, "alertname": rule.name}
    labels["severity"] = rule.severity
    return labels


@dataclass(frozen=True)
class SeriesColumns:
    """The catalog columns alert rows take from an element's source series."""

    series_id: np.ndarray
    metric: np.ndarray
    service: np.ndarray

    @classmethod
    def of(cls, catalog: pd.DataFrame) -> SeriesColumns:
        return cls(*(catalog[c].to_numpy(dtype=object) for c in ("series_id", "metric",
                                                                   "service")))  # fmt: skip


@dataclass(frozen=True)
class Element:
    """What every episode of one element shares."""

    labels: dict[str, str]
    labels_json: str
    fingerprint: str
    series_id: int | None
    metric: str | None
    service: str | None


@lru_cache(maxsize=65536)
def _element(
    rule: Rule, labels: tuple[tuple[str, str], ...], series_id: int | None, metric: str | None,
    source_service: str | None,
) -> Element:  # fmt: skip
    element = dict(labels)
    alert = alert_labels(rule, element)
    service = alert.get("service") or source_service
    return Element(alert, labels_json(alert), fingerprint(rule.name, without_name(element)),
                   series_id, metric, service)  # fmt: skip


def element_of(rule: Rule, vector: Vector, i: int, sources: SeriesColumns) -> Element:
    source = int(vector.sources[i])
    if source < 0:
        return _element(rule, tuple(sorted(vector.labels[i].items())), None, None, None)
    service = sources.service[source]
    return _element(
        rule, tuple(sorted(vector.labels[i].items())), int(sources.series_id[source]),
        str(sources.metric[source]),
        None if service is None or pd.isna(service) else str(service),
    )  # fmt: skip


def _annotations(rule: Rule, element: Element, value: float, last_eval: pd.Timestamp) -> str:
    """Annotations with templates filled in; a forecast also says when it will cross."""
    labels = element.labels
    template_labels = {**labels, "__name__": element.metric} if element.metric else labels
    out = render_annotations(rule, template_labels, value)
    if rule.kind == "forecast" and np.isfinite(value):
        crossing = pd.Timestamp(last_eval) + pd.Timedelta(seconds=float(value))
        out.setdefault("predicted_at", crossing.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return json.dumps(out, ensure_ascii=False)


def alert_rows(
    rule: Rule, found: pd.DataFrame, vector: Vector, sources: SeriesColumns
) -> dict[str, list | np.ndarray]:
    """The alert columns of ``found`` (episodes of the rule's elements)."""
    elements = found["series_idx"].to_numpy(dtype=np.int64)
    info = {int(i): element_of(rule, vector, int(i), sources) for i in np.unique(elements)}
    per = [info[int(i)] for i in elements]
    values = found["value"].to_numpy(dtype=float)
    shows_value = rule.kind == "forecast" or any(
        "$value" in text or ".Value" in text for text in rule.annotations.values())  # fmt: skip
    rendered: dict[object, str] = {}
    annotations = []
    for element, i, value, last_eval in zip(per, elements, values, found["last_eval_at"],
                                            strict=True):  # fmt: skip
        key = (int(i), value, last_eval) if shows_value else int(i)
        if key not in rendered:
            rendered[key] = _annotations(rule, element, float(value), last_eval)
        annotations.append(rendered[key])
    n = len(per)
    return {
        "fingerprint": [e.fingerprint for e in per], "rule_id": [rule.name] * n,
        "series_id": [e.series_id for e in per], "labels": [e.labels_json for e in per],
        "annotations": annotations, "severity": [rule.severity] * n,
        "service": [e.service for e in per], "group_key": [e.service or "" for e in per],
        "state": found["state"].to_numpy(), "value": values,
        **{c: found[c].to_numpy(dtype="datetime64[ns]") for c in TIMES},
    }  # fmt: skip


def concat_rows(parts: list[dict[str, list | np.ndarray]]) -> pd.DataFrame:
    """One frame of every rule's alert rows, built once."""
    if not parts or not any(len(p["value"]) for p in parts):
        return pd.DataFrame()
    columns = {}
    for name in parts[0]:
        chunks = [p[name] for p in parts]
        if isinstance(chunks[0], np.ndarray):
            columns[name] = np.concatenate(chunks)
        else:
            columns[name] = [item for chunk in chunks for item in chunk]
    frame = pd.DataFrame(columns)
    frame["series_id"] = pd.array(frame["series_id"], dtype="Int64")
    return frame
