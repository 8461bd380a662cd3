"""Past incidents into the knowledge base: every ended incident with a cause or fix.

Runs on the engine's schedule and right after someone resolves an alert with a note, so
the next similar alert lists it. Indexing is idempotent (the knowledge base skips an
incident whose text and metadata are unchanged), which makes re-running cheap and a
crash between the note and the index harmless: the next run catches up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.incident_notes import incidents_with_notes
from vigil.store import Store

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase


def index_incidents(store: Store, knowledge: KnowledgeBase) -> int:
    """Index every noted incident; returns how many there are."""
    notes = incidents_with_notes(store)
    for note in notes:
        text = f"Kind: {note.kind}" if note.origin == "demo" else ""
        knowledge.index_incident(note.incident_id, note.title, note.service, note.cause,
                                 note.fix, text, note.ended_at)  # fmt: skip
    return len(notes)
