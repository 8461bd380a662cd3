"""The audit log: who changed what, when, with the values before and after.

Writes happen inside the caller's transaction, so a change and its record land together
or not at all. The log is append-only: nothing in Vigil updates or deletes its rows.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from vigil.clock import utc_now


def record(
    cur: duckdb.DuckDBPyConnection, actor: str, action: str, target: str,
    before: Any = None, after: Any = None,
) -> None:  # fmt: skip
    """One audit entry; ``before``/``after`` are stored as JSON (None: nothing)."""

    def encode(value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    cur.execute(
        "INSERT INTO audit_log (ts, actor, action, target, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [utc_now().to_pydatetime(), actor, action, target, encode(before), encode(after)],
    )
