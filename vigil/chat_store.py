"""The assistant's memory in DuckDB: conversations per user, what every language-model
request cost, and every tool call the model asked for.

Kept in the database rather than the UI session so a responder's conversation survives a
reload, and so the token budget and rate limit are the same for every process that reads
them. All SQL is parameterised; nothing here ever sees the API key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from vigil.clock import utc_now
from vigil.store import Store

TITLE_LENGTH = 80


@dataclass(frozen=True)
class UsageRecord:
    """One row of ``llm_usage``: a model request, or an answer made without one."""

    session_id: str | None
    username: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    cost: float
    mode: str  # llm | evidence
    outcome: str
    estimated: bool = False


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def ensure_session(store: Store, session_id: str | None, username: str, title: str) -> str:
    """The session to append to: ``session_id`` if it is this user's, else a new one."""
    if session_id:
        owner = store.one("SELECT username FROM chat_sessions WHERE session_id = ?", [session_id])
        if owner == username:
            return session_id
    new_id = uuid.uuid4().hex
    store.execute(
        "INSERT INTO chat_sessions (session_id, username, title, created_at) VALUES (?, ?, ?, ?)",
        [new_id, username, " ".join(title.split())[:TITLE_LENGTH], _dt(utc_now())],
    )
    return new_id


def add_message(store: Store, session_id: str, role: str, content: str, *,
                citations: list[dict[str, Any]] | None = None, mode: str | None = None,
                reason: str | None = None,
                usage: dict[str, Any] | None = None) -> None:  # fmt: skip
    store.execute(
        "INSERT INTO chat_messages (session_id, ts, role, content, citations, mode, reason, "
        "usage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [session_id, _dt(utc_now()), role, content,
         None if citations is None else json.dumps(citations, ensure_ascii=False),
         mode, reason, None if usage is None else json.dumps(usage)],
    )  # fmt: skip


def user_sessions(store: Store, username: str, limit: int = 50) -> pd.DataFrame:
    """The user's conversations, newest activity first."""
    return store.df(
        """
        SELECT s.session_id, s.title, s.created_at,
               coalesce(max(m.ts), s.created_at) AS last_ts, count(m.message_id) AS messages
        FROM chat_sessions s LEFT JOIN chat_messages m USING (session_id)
        WHERE s.username = ? GROUP BY s.session_id, s.title, s.created_at
        ORDER BY last_ts DESC LIMIT ?
        """,
        [username, int(limit)],
    )


def session_messages(store: Store, session_id: str, username: str) -> list[dict[str, Any]]:
    """A conversation in order, if it is the user's (someone else's reads as empty)."""
    frame = store.df(
        """
        SELECT m.ts, m.role, m.content, m.citations, m.mode, m.reason, m.usage
        FROM chat_messages m JOIN chat_sessions s USING (session_id)
        WHERE m.session_id = ? AND s.username = ? ORDER BY m.ts, m.message_id
        """,
        [session_id, username],
    )
    records = frame.to_dict("records")
    for record in records:
        for name in ("citations", "usage"):
            record[name] = json.loads(record[name]) if isinstance(record[name], str) else None
    return records


def record_usage(store: Store, record: UsageRecord) -> None:
    store.execute(
        "INSERT INTO llm_usage (ts, session_id, username, model, prompt_tokens, "
        "completion_tokens, cost, estimated, mode, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_dt(utc_now()), record.session_id, record.username, record.model,
         int(record.prompt_tokens), int(record.completion_tokens), float(record.cost),
         record.estimated, record.mode, record.outcome],
    )  # fmt: skip


def record_tool_call(store: Store, session_id: str | None, tool: str, arguments: str,
                     outcome: str) -> None:  # fmt: skip
    store.execute(
        "INSERT INTO llm_tool_calls (ts, session_id, tool, arguments, outcome) "
        "VALUES (?, ?, ?, ?, ?)",
        [_dt(utc_now()), session_id, tool[:200], arguments[:4000], outcome],
    )


def tokens_since(store: Store, since: pd.Timestamp) -> int:
    """Prompt plus completion tokens of every model request since ``since``."""
    value = store.one(
        "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM llm_usage "
        "WHERE mode = 'llm' AND ts >= ?",
        [_dt(since)],
    )
    return int(value or 0)


def requests_since(store: Store, since: pd.Timestamp) -> int:
    """Model requests made since ``since`` (answers without a model do not count)."""
    value = store.one("SELECT count(*) FROM llm_usage WHERE mode = 'llm' AND ts >= ?", [_dt(since)])
    return int(value or 0)


def usage_since(store: Store, since: pd.Timestamp) -> dict[str, float]:
    """Tokens and estimated cost since ``since``, for the page's "today" figure."""
    row = store.cursor.execute(
        "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
        "coalesce(sum(cost), 0) FROM llm_usage WHERE mode = 'llm' AND ts >= ?",
        [_dt(since)],
    ).fetchall()[0]
    return {"prompt_tokens": int(row[0]), "completion_tokens": int(row[1]),
            "cost": float(row[2])}  # fmt: skip
