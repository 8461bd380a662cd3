"""Root-cause candidates for an alert or a moment: the service the assistant, the alerts
page, ``vigil rca`` and the engine's ``/api/v1/rca`` share.

It reads the window's samples and scores, the series catalog and the dependency graph,
and hands them to :func:`analytics.rca.rank_root_causes`; the method is described there.
Reads only; every query is parameterised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.rca import (
    NO_SERVICE,
    RcaParams,
    SeriesCandidate,
    ServiceCandidate,
    rank_root_causes,
    upstream_closure,
)
from vigil.clock import parse_time
from vigil.errors import VigilError
from vigil.queries import ANOMALY_THRESHOLD
from vigil.settings import Settings
from vigil.store import Store
from vigil.topology import service_aliases, service_dependencies

ALERT_SLACK = pd.Timedelta(minutes=2)
"""How far past an alert's firing the window reaches: the first points after it show
which way the incident went, and scores lag their samples by a moment."""

DEFAULT_LOOKBACK = pd.Timedelta(hours=1)
MAX_LOOKBACK = pd.Timedelta(days=2)


@dataclass(frozen=True)
class RcaResult:
    """Ranked candidates for the window (window_start, at]."""

    at: pd.Timestamp
    window_start: pd.Timestamp
    alert_id: str | None
    services: list[ServiceCandidate]
    series: list[SeriesCandidate]
    focus_service: str | None = None


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def _naive_utc(ts: pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("ns")


def _alert_moment(store: Store, alert_id: str) -> tuple[pd.Timestamp, str | None]:
    """When the alert fired (else became active) and its service; unknown ids are errors."""
    row = store.df(
        "SELECT coalesce(fired_at, active_at) AS since, service FROM alerts WHERE alert_id = ?",
        [alert_id],
    )
    if row.empty:
        raise VigilError(f"no alert with id {alert_id!r}; see `vigil alerts list`")
    service = row["service"].iloc[0]
    return pd.Timestamp(row["since"].iloc[0]) + ALERT_SLACK, None if pd.isna(service) else service


def _service_named(name: str, known: set[str], settings: Settings) -> str:
    """The service a name means: itself, or the service it is another name for."""
    if name in known:
        return name
    wanted = name.strip().lower()
    for service, aliases in service_aliases(settings).items():
        if service in known and wanted in {service.lower(), *(a.lower() for a in aliases)}:
            return service
    raise VigilError(f"no series belong to service {name!r}; check the service name")


def _catalog(store: Store, focus: str | None, settings: Settings, dependencies: dict):
    """The series to consider (all, or the focus service's and its upstream services'),
    and the focus service's own name."""
    catalog = store.df(
        "SELECT series_id, series_key, metric, coalesce(service, host, ?) AS service "
        "FROM series ORDER BY series_id",
        [NO_SERVICE],
    )
    if focus is None:
        return catalog, None
    focus = _service_named(focus, set(catalog["service"]), settings)
    wanted = {focus, *upstream_closure(dependencies).get(focus, frozenset())}
    return catalog[catalog["service"].isin(wanted)].reset_index(drop=True), focus


def _window_points(
    store: Store, ids: list[int], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    return store.df(
        """
        SELECT p.series_id, p.ts, p.value, c.expected, c.score
        FROM samples p LEFT JOIN scores c USING (series_id, ts)
        WHERE list_contains(?::BIGINT[], p.series_id) AND p.ts > ? AND p.ts <= ?
        """,
        [ids, _dt(start), _dt(end)],
    )


def _last_seen(store: Store, ids: list[int], start: pd.Timestamp, lookback: pd.Timedelta):
    """The last sample before the window of every series, looking one window further back:
    a series silent for the whole window is a candidate too."""
    return store.df(
        "SELECT series_id, max(ts) AS last_seen FROM samples "
        "WHERE list_contains(?::BIGINT[], series_id) AND ts > ? AND ts <= ? GROUP BY series_id",
        [ids, _dt(start - lookback), _dt(start)],
    )


def _check(alert_id: str | None, at: pd.Timestamp | None, lookback: pd.Timedelta, limit: int):
    if (alert_id is None) == (at is None):
        raise VigilError("root-cause ranking needs an alert id or a time: give exactly one of them")
    if not pd.Timedelta(0) < pd.Timedelta(lookback) <= MAX_LOOKBACK:
        raise VigilError(f"lookback must be more than 0 and at most {MAX_LOOKBACK}")
    if int(limit) < 1:
        raise VigilError("limit must be at least 1")


def root_causes(
    store: Store,
    settings: Settings,
    *,
    alert_id: str | None = None,
    at: pd.Timestamp | None = None,
    lookback: pd.Timedelta = DEFAULT_LOOKBACK,
    focus_service: str | None = None,
    limit: int = 10,
) -> RcaResult:
    """The ``limit`` likeliest root-cause services (and their series) for an alert or a time.

    With ``alert_id`` the window ends shortly after the alert fired and its service is the
    focus unless ``focus_service`` says otherwise; a focus restricts candidates to that
    service and everything it transitively depends on, and may be one of the service's
    other names (``service_aliases``).
    """
    _check(alert_id, at, lookback, limit)
    focus = focus_service
    if alert_id is not None:
        end, alert_service = _alert_moment(store, alert_id)
        focus = focus or alert_service
    else:
        end = _naive_utc(at)
    start = end - pd.Timedelta(lookback)
    dependencies = service_dependencies(settings)
    catalog, focus = _catalog(store, focus, settings, dependencies)
    ids = catalog["series_id"].astype(int).tolist()
    points = _window_points(store, ids, start, end)
    info = catalog.merge(_last_seen(store, ids, start, pd.Timedelta(lookback)), how="left",
                         on="series_id")  # fmt: skip
    ranking = rank_root_causes(points, info, dependencies, end=end,
                               params=RcaParams(threshold=ANOMALY_THRESHOLD))  # fmt: skip
    services = ranking.services[: int(limit)]
    kept = {s.service for s in services}
    series = [s for s in ranking.series if (s.service or NO_SERVICE) in kept][: int(limit)]
    return RcaResult(end, start, alert_id, services, series, focus)


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat()


def rca_as_dict(result: RcaResult) -> dict[str, Any]:
    """The result as JSON-ready data, times as ISO strings (UTC)."""
    return {
        "at": _iso(result.at),
        "window_start": _iso(result.window_start),
        "alert_id": result.alert_id,
        "focus_service": result.focus_service,
        "services": [
            {
                "rank": s.rank,
                "service": s.service,
                "onset": _iso(s.onset),
                "score": round(s.score, 4),
                "strength": round(s.strength, 2),
                "series": list(s.series),
                "reason": s.reason,
                "upstream_of": list(s.upstream_of),
                "downstream_of": list(s.downstream_of),
                "silent": s.silent,
            }
            for s in result.services
        ],
        "series": [
            {
                "rank": s.rank,
                "series_id": s.series_id,
                "series_key": s.series_key,
                "metric": s.metric,
                "service": s.service,
                "onset": _iso(s.onset),
                "score": round(s.score, 4),
                "strength": round(s.strength, 2),
                "silent": s.silent,
                "change_point": _iso(s.change_point),
            }
            for s in result.series
        ],
    }


def _lookback(text: str | None) -> pd.Timedelta:
    if not text:
        return DEFAULT_LOOKBACK
    try:
        return pd.Timedelta(text)
    except ValueError:
        raise VigilError(f"lookback {text!r} is not a duration such as 30m, 1h or 2h") from None


def rca_from_query(store: Store, settings: Settings, query: dict[str, Any]) -> dict[str, Any]:
    """``root_causes`` from text arguments (alert, at, service, lookback, limit), as the CLI
    and the engine's HTTP route receive them; values may be lists, as in a query string."""

    def first(name: str) -> str | None:
        value = query.get(name)
        value = value[0] if isinstance(value, list | tuple) and value else value
        return None if value in (None, "", []) else str(value)

    at_text, limit_text = first("at"), first("limit") or "10"
    try:
        at = parse_time(at_text) if at_text else None
    except ValueError:
        raise VigilError(f"time {at_text!r} is not an ISO time or -2h, now") from None
    if at is not None and pd.isna(at):  # "nan" and "NaT" parse, as no time at all
        raise VigilError(f"time {at_text!r} is not an ISO time or -2h, now")
    if not limit_text.isdigit():
        raise VigilError(f"limit {limit_text!r} is not a whole number")
    result = root_causes(store, settings, alert_id=first("alert"), at=at,
                         lookback=_lookback(first("lookback")), focus_service=first("service"),
                         limit=int(limit_text))  # fmt: skip
    return rca_as_dict(result)
