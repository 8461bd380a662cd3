"""Past incidents as knowledge: how one becomes a searchable passage, and where it links.

A resolved incident is the most useful thing a responder can find ("last time this
fired it was the connection pool"), so its cause and fix are written into the indexed
text and also kept as metadata, to be shown on the hit without parsing it back.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pandas as pd

# Vigil's alert ids: "<fingerprint>-<active since>" from rule evaluation, with an "am-"
# prefix for alerts received from Alertmanager, and "-<n>" when a second episode starts
# in the same second.
_ALERT_ID = re.compile(r"^(am-)?[0-9a-f]{8,64}-\d{8}T\d{6}(-\d+)?$")


def is_alert_id(incident_id: str) -> bool:
    return bool(_ALERT_ID.match(incident_id))


def incident_link(incident_id: str) -> str:
    """An incident recorded from an alert opens that alert's page (its timeline, evidence
    and notifications); any other incident id (the demo's ground truth, one typed in by a
    person) opens Search on the id, which lists the incident and what relates to it."""
    if is_alert_id(incident_id):
        return f"/alerts?alert={quote(incident_id, safe='')}"
    return f"/search?q={quote(incident_id, safe='')}"


def incident_text(title: str, service: str | None, cause: str, fix: str, text: str) -> str:
    """The passage indexed for an incident: everything a responder would search by."""
    lines = [title]
    if service:
        lines.append(f"Service: {service}")
    lines += [f"Cause: {cause}", f"Fix: {fix}"]
    if text.strip():
        lines.append(text.strip())
    return "\n".join(lines)


def incident_metadata(incident_id: str, title: str, service: str | None, cause: str,
                      fix: str, resolved_at: pd.Timestamp | None) -> dict[str, str]:  # fmt: skip
    """Metadata carried by each of the incident's chunks (Chroma stores no nulls: absent
    values are empty strings)."""
    return {
        "incident_id": incident_id, "title": title, "service": service or "",
        "cause": cause, "fix": fix,
        "resolved_at": "" if resolved_at is None else pd.Timestamp(resolved_at).isoformat(),
    }  # fmt: skip
