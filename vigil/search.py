"""Search: one box over alerts, series, incidents and rules.

A query is words and "quoted phrases" that must all appear in an item's text, ``-word``
to leave items out, and ``key:value`` filters (``service:orders severity:critical``).
DuckDB's ``fts`` extension needs a download, so matching is parameterised ILIKE over one
text per item built in SQL; JSON columns are decoded there first, so Chinese stored as
``\\u`` escapes is found like any other text. User input reaches DuckDB only as
parameters: the SQL text is built from this module's constants alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pandas as pd

from vigil.errors import VigilError
from vigil.i18n import t
from vigil.store import Store

KINDS = ("alert", "series", "incident", "rule", "knowledge")
SQL_KINDS = KINDS[:-1]  # knowledge lives in the knowledge base, searched by its own index
KNOWN_KEYS = ("service", "severity", "state", "kind", "rule", "metric")
MAX_QUERY_CHARS = 1000
MAX_PARTS = 32
ERROR_CODES = ("text", "too_long", "too_many", "quote", "empty_key", "empty_value", "kind")

_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PART = re.compile(r'(?:[^\s"]+|"[^"]*")+')
_QUOTES = str.maketrans(dict.fromkeys("“”„«»", '"'))  # what Chinese and other IMEs type
_LINKS = {"alert": "alerts?alert={}", "rule": "rules?rule={}", "series": "explore?metric={}",
          "incident": "explore?metric={}"}  # fmt: skip


class QueryError(VigilError):
    """The query cannot be read; ``code`` and ``values`` let the UI say why in its language."""

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = values
        super().__init__(t(f"search.error.{code}", "en", **values))


@dataclass(frozen=True)
class Filter:
    """``key:value``; ``*`` in the value matches anything, case never matters."""

    key: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    kinds: tuple[str, ...] = KINDS

    @property
    def empty(self) -> bool:
        """Nothing asked: searching would list everything, so the UI shows a hint instead."""
        return not (self.terms or self.excluded or self.filters) and self.kinds == KINDS


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    title: str
    subtitle: str
    time: pd.Timestamp | None
    link: str | None  # relative to the app root
    state: str | None = None


@dataclass(frozen=True)
class KindHits:
    kind: str
    total: int  # every match, even past the per-kind limit
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class SearchResults:
    query: Query
    groups: tuple[KindHits, ...] = ()

    @property
    def total(self) -> int:
        return sum(group.total for group in self.groups)

    def hits(self, kind: str) -> tuple[Hit, ...]:
        return next((g.hits for g in self.groups if g.kind == kind), ())


def _clean(text: str) -> str:
    """Refuse what DuckDB cannot take; fold full-width forms (``service：订单``) and turn
    control characters (NUL included) into spaces, since nobody means to search for them."""
    if not isinstance(text, str):
        raise QueryError("text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError("text") from None
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS + 1]).translate(_QUOTES)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("too_long", n=MAX_QUERY_CHARS)
    if text.count('"') % 2:
        raise QueryError("quote")
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def _part(body: str, negate: bool) -> str | Filter | None:
    """One space-separated part as a term or a filter. A colon after something that is not
    a label name (``10:30``, ``kafka-1:9308``, ``http://``) is just text."""
    head, colon, rest = body.partition(":")
    if colon and '"' not in head and not rest.startswith("//"):
        if not head:
            raise QueryError("empty_key", part=body)
        if _LABEL_NAME.match(head):
            key = head.lower() if head.lower() in KNOWN_KEYS else head
            value = rest.replace('"', "").strip()
            if not value:
                raise QueryError("empty_value", name=head)
            return Filter(key, value, negate)
    return body.replace('"', "").strip() or None


def _kinds(filters: list[Filter]) -> tuple[str, ...]:
    wanted, unwanted = set(), set()
    for f in filters:
        kind = f.value.lower()
        kind = kind[:-1] if kind in ("alerts", "incidents", "rules") else kind
        if kind not in KINDS:
            raise QueryError("kind", value=f.value, kinds=", ".join(KINDS))
        (unwanted if f.negate else wanted).add(kind)
    return tuple(k for k in KINDS if (k in wanted or not wanted) and k not in unwanted)


def parse_query(text: str) -> Query:
    """Read the search box: words, "phrases", ``-excluded``, ``key:value`` filters (known
    keys are case-insensitive; any other name filters on that label)."""
    parts = _PART.findall(_clean(text))
    if len(parts) > MAX_PARTS:
        raise QueryError("too_many", n=MAX_PARTS)
    terms, excluded, filters = [], [], []
    for raw in parts:
        negate = raw.startswith("-") and len(raw) > 1
        item = _part(raw[1:] if negate else raw, negate)
        if isinstance(item, Filter):
            filters.append(item)
        elif item and item != "-":
            (excluded if negate else terms).append(item)
    kinds = _kinds([f for f in filters if f.key == "kind"])
    rest = tuple(f for f in filters if f.key != "kind")
    return Query(tuple(terms), tuple(excluded), rest, kinds)


# --- SQL: one base SELECT per kind; JSON is decoded once per row, in the inner SELECT ----
# Leading columns: id, title, subtitle, time, state, state_rank, names (exact-match
# candidates), target (the link's value), haystack (every field, joined by chr(31), a
# character no query holds, so a phrase never spans two fields); then what filters read.
_PAIRS = "array_to_string(list_transform(map_entries(try_cast({} AS MAP(VARCHAR, VARCHAR))), " \
         "lambda e: e.key || '=' || e.value), ' ')"  # fmt: skip
_VALUES = "array_to_string(map_values(try_cast({} AS MAP(VARCHAR, VARCHAR))), ' ')"
_LIST = "coalesce(try_cast({} AS VARCHAR[]), [])"
_OVERLAP = ("t_from <= coalesce(?::TIMESTAMP, 'infinity'::TIMESTAMP) AND coalesce(t_to, "
            "'infinity'::TIMESTAMP) >= coalesce(?::TIMESTAMP, '-infinity'::TIMESTAMP)")  # fmt: skip


@dataclass(frozen=True)
class _Kind:
    base: str
    attrs: dict[str, str]  # filter key -> SQL list of the item's values for it
    labels: str | None = None  # JSON path prefix in ``lj`` that other filter keys look in
    window: str | None = None  # overlap with [start, end]; parameters: end, start


_SOURCES = {
    "alert": _Kind(f"""
        SELECT alert_id AS id, coalesce(lj->>'alertname', rule_id) AS title,
            concat_ws(' · ', severity, service, aj->>'summary') AS subtitle,
            coalesce(fired_at, active_at) AS time, state,
            CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END AS state_rank,
            [alert_id, rule_id, lj->>'alertname'] AS names, alert_id AS target,
            concat_ws(chr(31), alert_id, rule_id, severity, service, state, series_key,
                {_PAIRS.format("lj")}, {_VALUES.format("aj")}, acknowledged_by, ack_comment)
                AS haystack,
            lj, service, severity, rule_id, metric, active_at AS t_from, resolved_at AS t_to
        FROM (SELECT a.*, s.metric, s.series_key, try(json(a.labels)) AS lj,
                try(json(a.annotations)) AS aj
              FROM alerts a LEFT JOIN series s ON s.series_id = a.series_id)""",
        {"service": "[service, lj->>'service']", "severity": "[severity]", "state": "[state]",
         "rule": "[rule_id, title]", "metric": "[metric]"}, "$", _OVERLAP),
    "series": _Kind(f"""
        SELECT series_key AS id, series_key AS title,
            concat_ws(' · ', service, host, source) AS subtitle, NULL::TIMESTAMP AS time,
            NULL::VARCHAR AS state, 0 AS state_rank, [metric, series_key] AS names,
            metric AS target,
            concat_ws(chr(31), series_key, {_PAIRS.format("lj")}, service, host, source, unit)
                AS haystack,
            lj, service, host, metric
        FROM (SELECT *, try(json(labels)) AS lj FROM series)""",
        {"service": "[service]", "metric": "[metric]", "host": "[host, lj->>'host']"}, "$"),
    "incident": _Kind(f"""
        SELECT incident_id AS id, title, concat_ws(' · ', kind, service, cause) AS subtitle,
            started_at AS time, CASE WHEN ended_at IS NULL THEN 'firing' ELSE 'resolved' END
                AS state, CASE WHEN ended_at IS NULL THEN 0 ELSE 2 END AS state_rank,
            [incident_id, title] AS names, split_part(keys[1], '{{', 1) AS target,
            concat_ws(chr(31), incident_id, title, kind, origin, service, cause, fix,
                array_to_string(keys, ' '), array_to_string(affected, ' ')) AS haystack,
            service, keys, affected, started_at AS t_from, ended_at AS t_to
        FROM (SELECT *, {_LIST.format("try(json(series_keys))")} AS keys,
                {_LIST.format("try(json(affected_services))")} AS affected FROM incidents)""",
        {"service": "list_prepend(service, affected)", "state": "[state]",
         "metric": "list_transform(keys, lambda k: split_part(k, '{', 1))"}, None, _OVERLAP),
    "rule": _Kind("""
        SELECT rule_id AS id, rule_id AS title, concat_ws(' · ', rule_group, severity,
                coalesce(sj->>'$.annotations.summary', sj->>'expr')) AS subtitle,
            updated_at AS time, CASE WHEN enabled THEN 'enabled' ELSE 'disabled' END AS state,
            CASE WHEN enabled THEN 0 ELSE 2 END AS state_rank, [rule_id] AS names,
            rule_id AS target, concat_ws(chr(31), rule_id, rule_group, kind, severity,
                updated_by, last_error, CAST(sj AS VARCHAR)) AS haystack,
            sj AS lj, severity, rule_id
        FROM (SELECT *, try(json(spec)) AS sj FROM rules)""",
        {"rule": "[rule_id]", "state": "[state]", "service": "[lj->>'$.labels.service']",
         "severity": "[severity, lj->>'$.labels.severity']",
         "metric": "regexp_extract_all(coalesce(lj->>'expr', ''), '[a-zA-Z_:][a-zA-Z0-9_:]*')"},
        "$.labels"),
}  # fmt: skip


def _escape(text: str) -> str:
    """LIKE's wildcards and its escape character, matched literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filter_sql(kind: _Kind, key: str, negate: bool, values: list[str]) -> tuple[str, list]:
    """One key's filters: positive values of a key are alternatives, negative ones each
    exclude. A kind without that attribute fails a positive filter and passes a negative."""
    params: list = []
    values_sql = kind.attrs.get(key)
    if values_sql is None and kind.labels and key not in KNOWN_KEYS:
        values_sql = "[lj->>?]"
        params.append(f'{kind.labels}."{key}"')  # key is a label name: nothing to quote
    if values_sql is None:
        return ("TRUE" if negate else "FALSE"), []
    inner = " OR ".join("v ILIKE ? ESCAPE '\\'" for _ in values)
    params += [_escape(v).replace("*", "%") for v in values]
    cond = f"coalesce(len(list_filter({values_sql}, lambda v: {inner})) > 0, FALSE)"
    return (f"NOT {cond}" if negate else cond), params


def _where(kind: _Kind, query: Query, window: list) -> tuple[str, list]:
    clauses = ["haystack ILIKE ? ESCAPE '\\'"] * len(query.terms)
    clauses += ["NOT haystack ILIKE ? ESCAPE '\\'"] * len(query.excluded)
    params: list = [f"%{_escape(term)}%" for term in (*query.terms, *query.excluded)]
    grouped: dict[tuple[str, bool], list[str]] = {}
    for f in query.filters:
        grouped.setdefault((f.key, f.negate), []).append(f.value)
    for (key, negate), values in grouped.items():
        sql, more = _filter_sql(kind, key, negate, values)
        clauses.append(sql)
        params += more
    if kind.window:
        clauses.append(kind.window)
        params += window
    return " AND ".join(clauses) or "TRUE", params


def _search_kind(store: Store, name: str, query: Query, window: list, limit: int) -> KindHits:
    """Matches of one kind, best first: an exact id or name, then what is still firing
    (or enabled), then the newest."""
    kind = _SOURCES[name]
    where, params = _where(kind, query, window)
    rows = store.cursor.execute(
        f"""SELECT id, title, subtitle, time, state, target, count(*) OVER () AS total
        FROM ({kind.base}) d WHERE {where}
        ORDER BY list_has_any(list_transform(names, lambda n: lower(n)), ?::VARCHAR[]) DESC,
            state_rank, time DESC NULLS LAST, id
        LIMIT ?""",
        [*params, [term.lower() for term in query.terms], limit],
    ).fetchall()
    hits = tuple(
        Hit(name, str(id_), title or str(id_), subtitle or "",
            None if time is None else pd.Timestamp(time),
            _LINKS[name].format(quote(target, safe="")) if target else None, state)
        for id_, title, subtitle, time, state, target, _ in rows
    )  # fmt: skip
    return KindHits(name, rows[0][-1] if rows else 0, hits)


def _naive_utc(ts: datetime | pd.Timestamp | None) -> datetime | None:
    if ts is None:
        return None
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def search(
    store: Store,
    text: str,
    start: datetime | pd.Timestamp | None = None,
    end: datetime | pd.Timestamp | None = None,
    limit_per_kind: int = 20,
) -> SearchResults:
    """Everything matching ``text``, grouped by kind. Alerts and incidents must overlap
    [start, end] (None: unbounded); series and rules have no time and ignore it. Reads only.
    Raises :class:`QueryError` when the query cannot be read."""
    query = parse_query(text)
    if query.empty:
        return SearchResults(query)
    window = [_naive_utc(end), _naive_utc(start)]
    limit = max(int(limit_per_kind), 1)
    return SearchResults(query, tuple(_search_kind(store, k, query, window, limit)
                                      for k in query.kinds if k in SQL_KINDS))  # fmt: skip


def knowledge_text(query: Query) -> str:
    """What the knowledge base is asked for a query: its words and the values of its
    label filters ("service:orders slow" asks for "orders slow"), none when it excludes
    knowledge or has no words."""
    if "knowledge" not in query.kinds or not query.terms:
        return ""
    values = [f.value for f in query.filters if not f.negate]
    return " ".join([*query.terms, *values])


def knowledge_hits(found: Sequence[Any], total: int | None = None) -> KindHits:
    """Knowledge base passages (``knowledge.records.KnowledgeHit``) as search hits."""
    hits = tuple(
        Hit(kind="knowledge", id=h.chunk_id, title=h.section or h.source,
            subtitle=f"{h.source} · {h.kind} · {h.text[:160]}", time=None,
            link=h.link.lstrip("/"))
        for h in found
    )  # fmt: skip
    return KindHits("knowledge", len(hits) if total is None else total, hits)
