"""Series identity: a metric name plus its sorted labels, as Prometheus writes it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

_KEY_RE = re.compile(r"^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_key(metric: str, labels: Mapping[str, str]) -> str:
    """The canonical key ``metric{a="1",b="2"}``; equal series always get equal keys."""
    if not labels:
        return metric
    inner = ",".join(f'{k}="{_escape(str(labels[k]))}"' for k in sorted(labels))
    return f"{metric}{{{inner}}}"


def parse_series_key(key: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`series_key`."""
    match = _KEY_RE.match(key.strip())
    if not match:
        raise ValueError(f"not a series key: {key!r}")
    labels: dict[str, str] = {}
    body = match.group("labels") or ""
    pos = 0
    while pos < len(body):
        m = _LABEL_RE.match(body, pos)
        if not m:
            raise ValueError(f"bad label set in series key: {key!r}")
        labels[m.group(1)] = bytes(m.group(2), "utf-8").decode("unicode_escape")
        pos = m.end()
    return match.group("metric"), labels


def labels_json(labels: Mapping[str, str]) -> str:
    """Labels as the JSON stored in the database: keys sorted, so equal sets compare equal."""
    return json.dumps({k: str(labels[k]) for k in sorted(labels)}, ensure_ascii=False)
