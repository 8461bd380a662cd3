"""Alerts as plain records: what ``vigil alerts list`` prints and ``/api/v1/alerts`` serves.

One record per alert episode, newest activity first, with labels and annotations as
objects and times as RFC 3339 UTC strings, so the same JSON reads well in a terminal,
in ``jq`` and in scripts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analytics.silences import InhibitRule, inhibited_by, silenced_by
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.silences_store import load_silences
from vigil.store import Store

ALERT_STATES = ("pending", "firing", "resolved")
TIME_FIELDS = ("active_at", "fired_at", "resolved_at", "last_eval_at", "acknowledged_at")
FIELDS = ("alert_id", "state", "severity", "rule_id", "service", "value", "labels",
          "annotations", *TIME_FIELDS, "acknowledged_by", "ack_comment", "fingerprint",
          "group_key", "source", "generator_url", "series_id")  # fmt: skip


def check_states(states: Sequence[str]) -> list[str]:
    """The states asked for, lower-cased; an unknown one is a clear error."""
    wanted = [s.strip().lower() for s in states if s.strip()]
    unknown = sorted(set(wanted) - set(ALERT_STATES))
    if unknown:
        raise VigilError(
            f"unknown alert state {', '.join(unknown)}; use one of {', '.join(ALERT_STATES)}"
        )
    return wanted


def _time(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_alerts(
    store: Store, states: Sequence[str] = (), inhibit_rules: Sequence[InhibitRule] = ()
) -> list[dict[str, Any]]:
    """Alerts in ``states`` (all when empty), most recently active first. Pending and firing
    ones say which active silences mute them (``silenced_by``) and which firing alerts
    inhibit them under ``inhibit_rules`` (``inhibited_by``, their alert ids)."""
    wanted = check_states(states)
    frame = store.df(
        f"SELECT {', '.join(FIELDS)} FROM alerts "
        "ORDER BY coalesce(resolved_at, last_eval_at) DESC, active_at DESC, alert_id"
    )
    records = _records(frame)
    _mark_muted(store, records, inhibit_rules)
    return [r for r in records if not wanted or r["state"] in wanted]


def _mark_muted(
    store: Store, records: list[dict[str, Any]], inhibit_rules: Sequence[InhibitRule]
) -> None:
    now = utc_now()
    silences = load_silences(store)
    active = [r for r in records if r["state"] in ("pending", "firing")]
    sources = inhibited_by(
        [r["labels"] for r in active], [r["state"] == "firing" for r in active], inhibit_rules
    )
    for record, inhibitors in zip(active, sources, strict=True):
        record["silenced_by"] = silenced_by(record["labels"], silences, now)
        record["inhibited_by"] = [active[i]["alert_id"] for i in inhibitors]
    for record in records:
        record.setdefault("silenced_by", [])
        record.setdefault("inhibited_by", [])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for row in frame.to_dict("records"):
        record = {name: row[name] for name in FIELDS}
        record["labels"] = json.loads(row["labels"] or "{}")
        record["annotations"] = json.loads(row["annotations"] or "{}")
        record["value"] = None if pd.isna(row["value"]) else float(row["value"])
        record["series_id"] = None if pd.isna(row["series_id"]) else int(row["series_id"])
        for name in TIME_FIELDS:
            record[name] = _time(row[name])
        records.append({key: _plain(value) for key, value in record.items()})
    return records


def _plain(value: Any) -> Any:
    """SQL NULL arrives as None or NaN depending on the column; JSON wants null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
