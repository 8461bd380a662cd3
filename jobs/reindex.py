"""The reindex job: keep the knowledge base in line with the runbooks and the incidents.

Runbooks are edited as files (in git, on a shared volume), so the job rescans the runbooks
directory: only new and changed files are embedded again, deleted ones leave the index.
Resolved incidents with a cause or fix (the demo's ground truth, responders' notes) are
indexed as past incidents; unchanged ones cost one lookup each.
"""

from __future__ import annotations

import logging

from knowledge.base import KnowledgeBase
from vigil.incident_notes import incidents_with_notes
from vigil.settings import Settings
from vigil.store import Store

log = logging.getLogger(__name__)


def reindex_runbooks(kb: KnowledgeBase, settings: Settings) -> int:
    """Rescan ``settings.runbooks_path``; returns the chunks embedded plus removed. A data
    dir without runbooks is not an error (nothing to index); an unreadable file is logged
    and keeps its previous chunks."""
    directory = settings.runbooks_path
    if not directory.is_dir():
        log.info("no runbooks directory at %s; nothing to index", directory)
        return 0
    report = kb.reindex(directory)
    for error in report.errors:
        log.warning("runbook not indexed: %s", error)
    if report.indexed or report.removed:
        log.info("runbooks indexed: %s; removed: %s", report.indexed, report.removed)
    return report.chunks_embedded + report.chunks_removed


def index_incidents(kb: KnowledgeBase, store: Store) -> int:
    """Index every ended incident that records a cause or fix; returns how many."""
    notes = incidents_with_notes(store)
    for note in notes:
        kb.index_incident(note.incident_id, note.title, note.service, note.cause, note.fix,
                          text=f"Kind: {note.kind}", resolved_at=note.ended_at)  # fmt: skip
    return len(notes)


def reindex_knowledge(kb: KnowledgeBase, settings: Settings, store: Store) -> int:
    """The scheduled job's body: runbooks, then incidents."""
    return reindex_runbooks(kb, settings) + index_incidents(kb, store)
