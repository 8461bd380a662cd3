"""What people learnt from an alert: its cause and fix, kept as a user incident.

Resolving an alert with a note is how Vigil learns: the note becomes a row of
``incidents`` (origin ``user``), which the knowledge base indexes so that the next
similar alert lists it with its fix. A note may also be added to an alert that already
resolved on its own; a second note on the same alert replaces the first (one incident per
alert episode, so the knowledge base never lists the same episode twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from vigil.alert_actions import OPEN_STATES, resolve_alert
from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.store import Store

MAX_NOTE = 4000


@dataclass(frozen=True)
class IncidentNote:
    """One incident with what was found: what the knowledge base indexes."""

    incident_id: str
    title: str
    kind: str
    service: str | None
    cause: str
    fix: str
    started_at: pd.Timestamp
    ended_at: pd.Timestamp | None
    alert_id: str | None
    origin: str


def incident_id_for(alert_id: str) -> str:
    return f"alert-{alert_id}"


def _checked(who: str, cause: str, fix: str) -> tuple[str, str, str]:
    who, cause, fix = who.strip(), cause.strip(), fix.strip()
    if not who:
        raise VigilError("say who you are (--author)")
    if not cause and not fix:
        raise VigilError("a note needs the cause, the fix or both")
    for name, text in (("cause", cause), ("fix", fix)):
        if len(text) > MAX_NOTE:
            raise VigilError(f"the {name} is longer than {MAX_NOTE} characters")
    return who, cause, fix


def record_incident(
    store: Store, alert_id: str, who: str, cause: str, fix: str, comment: str = ""
) -> str:
    """Resolve ``alert_id`` if it is still open, and keep its cause and fix as an incident;
    returns the incident id. Nothing changes when the alert does not exist or the note is
    empty."""
    who, cause, fix = _checked(who, cause, fix)
    row = store.df(
        "SELECT a.alert_id, a.rule_id, a.state, a.service, a.labels, a.annotations, a.active_at, "
        "a.resolved_at, s.series_key FROM alerts a LEFT JOIN series s USING (series_id) "
        "WHERE a.alert_id = ?",
        [alert_id],
    )
    if row.empty:
        raise VigilError(f"no alert {alert_id!r}")
    alert = row.iloc[0]
    if alert["state"] in OPEN_STATES:
        resolve_alert(store, alert_id, who, comment or cause)
    labels, annotations = json.loads(alert["labels"]), json.loads(alert["annotations"])
    name = labels.get("alertname", alert["rule_id"])
    title = annotations.get("summary") or name
    ended = store.one("SELECT resolved_at FROM alerts WHERE alert_id = ?", [alert_id])
    keys = [] if pd.isna(alert["series_key"]) else [alert["series_key"]]
    service = None if pd.isna(alert["service"]) else alert["service"]
    incident_id = incident_id_for(alert_id)
    before = store.df("SELECT cause, fix FROM incidents WHERE incident_id = ?", [incident_id])
    was = None if before.empty else before.iloc[0].to_dict()
    with store.transaction() as cur:
        cur.execute(
            """
            INSERT OR REPLACE INTO incidents (incident_id, origin, kind, title, service,
                series_keys, affected_services, started_at, ended_at, cause, fix, alert_id,
                recorded_by, created_at)
            VALUES (?, 'user', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [incident_id, name, title, service, json.dumps(keys),
             json.dumps([service] if service else []),
             pd.Timestamp(alert["active_at"]).to_pydatetime(), ended, cause, fix, alert_id, who,
             utc_now().to_pydatetime()],
        )  # fmt: skip
        record(cur, who, "incident.note", incident_id, was, {"cause": cause, "fix": fix})
    return incident_id


def _none(value: object) -> object:
    return None if value is None or pd.isna(value) else value


def incidents_with_notes(store: Store) -> list[IncidentNote]:
    """Every ended incident that says what caused it or how it was fixed, oldest first."""
    frame = store.df(
        "SELECT incident_id, title, kind, service, cause, fix, started_at, ended_at, alert_id, "
        "origin FROM incidents WHERE (coalesce(cause, '') <> '' OR coalesce(fix, '') <> '') "
        "AND ended_at IS NOT NULL AND ended_at <= ? ORDER BY started_at, incident_id",
        [utc_now().to_pydatetime()],
    )
    notes = []
    for r in frame.to_dict("records"):
        ended = _none(r["ended_at"])
        notes.append(IncidentNote(
            incident_id=r["incident_id"], title=r["title"], kind=r["kind"],
            service=_none(r["service"]), cause=r["cause"] or "", fix=r["fix"] or "",
            started_at=pd.Timestamp(r["started_at"]),
            ended_at=None if ended is None else pd.Timestamp(ended),
            alert_id=_none(r["alert_id"]), origin=r["origin"],
        ))  # fmt: skip
    return notes
