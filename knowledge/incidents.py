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
# in the same second. A note on an alert is kept as incident "alert-<alert id>".
_ALERT_ID = re.compile(r"^(am-)?[0-9a-f]{8,64}-\d{8}T\d{6}(-\d+)?$")
_FROM_ALERT = "alert-"


def alert_of(incident_id: str) -> str | None:
    """The alert an incident id stands for, if any: the id itself or "alert-<id>"."""
    candidate = incident_id.removeprefix(_FROM_ALERT)
    return candidate if _ALERT_ID.match(candidate) else None


def incident_link(incident_id: str) -> str:
    """An incident recorded from an alert opens that alert's page (its timeline, evidence,
    cause and fix); any other incident (the demo's ground truth, one typed in by a person)
    opens Search on its id, which lists the incident and what relates to it."""
    alert = alert_of(incident_id)
    if alert is not None:
        return f"/alerts?alert={quote(alert, safe='')}"
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
