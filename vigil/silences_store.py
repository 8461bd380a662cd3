"""Silences in the database: create, expire (never delete: expired ones are history), list.

Times are naive UTC like every stored timestamp. Matchers are stored as the JSON list
``[{"name", "op", "value"}]`` Alertmanager's API uses, so they export as they are.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analytics.silences import Matcher, Silence, check_silence_matchers, parse_matcher
from vigil.audit import record
from vigil.clock import parse_time, utc_now
from vigil.errors import VigilError
from vigil.store import Store

SILENCE_STATES = ("pending", "active", "expired")
MAX_COMMENT = 2000


def add_silence(
    store: Store,
    matchers: Sequence[str],
    *,
    ends_at: pd.Timestamp,
    created_by: str,
    comment: str = "",
    starts_at: pd.Timestamp | None = None,
) -> Silence:
    """A new silence; VigilError (and nothing stored) when it is not a sensible one."""
    now = utc_now()
    starts = starts_at if starts_at is not None else now
    try:
        parsed = tuple(parse_matcher(text) for text in matchers)
        check_silence_matchers(parsed)
    except ValueError as exc:
        raise VigilError(str(exc)) from None
    if ends_at <= now:
        raise VigilError(f"the silence would end in the past ({ends_at} UTC)")
    if ends_at <= starts:
        raise VigilError(f"the silence ends ({ends_at}) before it starts ({starts})")
    if not created_by.strip():
        raise VigilError("a silence needs an author")
    if len(comment) > MAX_COMMENT:
        raise VigilError(f"the comment is longer than {MAX_COMMENT} characters")
    silence = Silence(uuid.uuid4().hex, parsed, starts, ends_at, created_by.strip(), comment)
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO silences (silence_id, matchers, starts_at, ends_at, created_by, "
            "comment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [silence.silence_id, _matchers_json(parsed), starts.to_pydatetime(),
             ends_at.to_pydatetime(), silence.created_by, comment, now.to_pydatetime()],
        )  # fmt: skip
        after = {"matchers": _matchers_json(parsed), "ends_at": ends_at, "comment": comment}
        record(cur, silence.created_by, "silence.add", silence.silence_id, None, after)
    return silence


def expire_silence(store: Store, silence_id: str, by: str = "unknown") -> Silence:
    """End a pending or active silence now; it stays in the history."""
    now = utc_now()
    found = [s for s in load_silences(store) if s.silence_id == silence_id]
    if not found:
        raise VigilError(f"no silence {silence_id!r}")
    if found[0].state(now) == "expired":
        raise VigilError(f"silence {silence_id} has already expired ({found[0].ends_at} UTC)")
    with store.transaction() as cur:
        cur.execute(
            "UPDATE silences SET ends_at = ?, starts_at = least(starts_at, ?) "
            "WHERE silence_id = ?", [now.to_pydatetime(), now.to_pydatetime(), silence_id],
        )  # fmt: skip
        record(cur, by, "silence.expire", silence_id, {"ends_at": found[0].ends_at},
               {"ends_at": now})  # fmt: skip
    return next(s for s in load_silences(store) if s.silence_id == silence_id)


def load_silences(store: Store) -> list[Silence]:
    rows = store.cursor.execute(
        "SELECT silence_id, matchers, starts_at, ends_at, created_by, comment FROM silences "
        "ORDER BY created_at, silence_id"
    ).fetchall()
    return [
        Silence(
            sid,
            tuple(Matcher(**m) for m in json.loads(text)),
            pd.Timestamp(start),
            pd.Timestamp(end),
            author,
            comment or "",
        )
        for sid, text, start, end, author, comment in rows
    ]


def list_silences(store: Store, states: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Silences as plain records (newest first), filtered by state when asked."""
    wanted = [s.strip().lower() for s in states if s.strip()]
    unknown = sorted(set(wanted) - set(SILENCE_STATES))
    if unknown:
        raise VigilError(f"unknown silence state {', '.join(unknown)}; use one of "
                         f"{', '.join(SILENCE_STATES)}")  # fmt: skip
    now = utc_now()
    out = []
    for s in reversed(load_silences(store)):
        state = s.state(now)
        if wanted and state not in wanted:
            continue
        out.append({
            "silence_id": s.silence_id, "state": state,
            "matchers": [str(m) for m in s.matchers],
            "starts_at": s.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ends_at": s.ends_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_by": s.created_by, "comment": s.comment,
        })  # fmt: skip
    return out


def _matchers_json(matchers: Sequence[Matcher]) -> str:
    return json.dumps([{"name": m.name, "op": m.op, "value": m.value} for m in matchers],
                      ensure_ascii=False)  # fmt: skip


MAX_SILENCE = pd.Timedelta(days=365)


def silence_request(store: Store, request: Mapping[str, Any]) -> Silence:
    """A silence from a request (the CLI's options or the engine's JSON API):
    ``matchers`` (list of text), ``duration`` ("2h") or ``ends_at``, optional ``starts_at``,
    ``created_by``, ``comment``. VigilError names the field that is wrong."""
    unknown = set(request) - {"matchers", "duration", "ends_at", "starts_at", "created_by",
                              "comment"}  # fmt: skip
    if unknown:
        raise VigilError(f"unknown field(s) {', '.join(sorted(unknown))}")
    matchers = request.get("matchers")
    if not isinstance(matchers, list) or not all(isinstance(m, str) for m in matchers):
        raise VigilError("matchers must be a list of texts such as 'service=\"checkout\"'")
    now = utc_now()
    starts = _time(request.get("starts_at"), "starts_at", now) or now
    ends = _time(request.get("ends_at"), "ends_at", now)
    duration = request.get("duration")
    if (ends is None) == (duration is None):
        raise VigilError("give either duration (e.g. 2h) or ends_at")
    if duration is not None:
        length = _duration(duration)
        if not pd.Timedelta(0) < length <= MAX_SILENCE:
            raise VigilError("duration must be positive and at most 365 days")
        ends = starts + length
    return add_silence(
        store, matchers, ends_at=ends, starts_at=starts,
        created_by=str(request.get("created_by") or ""), comment=str(request.get("comment") or ""),
    )  # fmt: skip


def _duration(value: object) -> pd.Timedelta:
    """A duration with its unit. pandas reads a bare number (3600, "3600") as nanoseconds
    and "nan" as no time at all; both are refused rather than silencing for nothing."""
    hint = f"duration {value!r} is not a duration (use 30m, 2h, 1d)"
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise VigilError(hint)
    try:
        length = pd.Timedelta(value)
    except ValueError:
        raise VigilError(hint) from None
    if pd.isna(length):
        raise VigilError(hint)
    return length


def _time(value: object, field: str, now: pd.Timestamp) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        stamp = parse_time(str(value), now)
    except ValueError:
        raise VigilError(f"{field} {value!r} is not a time (ISO 8601, UTC)") from None
    if pd.isna(stamp):  # "nan", "NaT" parse, as no time at all
        raise VigilError(f"{field} {value!r} is not a time (ISO 8601, UTC)")
    return stamp


class SilenceApi:
    """What the engine's HTTP port does with silences: list, create, expire."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, states: Sequence[str]) -> list[dict[str, Any]]:
        return list_silences(self.store, states)

    def add(self, request: Mapping[str, Any]) -> dict[str, Any]:
        silence = silence_request(self.store, request)
        return next(r for r in list_silences(self.store) if r["silence_id"] == silence.silence_id)

    def expire(self, silence_id: str, by: str = "unknown") -> dict[str, Any]:
        expire_silence(self.store, silence_id, by)
        return next(r for r in list_silences(self.store) if r["silence_id"] == silence_id)
