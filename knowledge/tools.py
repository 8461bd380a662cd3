"""The assistant's read-only tools: what a language model may look at, and nothing more.

Each tool reads through the same read services the pages use (SQL parameterised, only
SELECTs), takes arguments checked by :mod:`knowledge.tool_args`, and answers with plain
JSON data plus the citations it supports. The registry is closed: a name outside it, bad
JSON or bad arguments give the model an error result to correct itself from, never an
exception, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from analytics.capacity import linear_trends
from analytics.forecast import seconds_to_threshold
from knowledge import tool_args as A
from knowledge.answer import Citation
from vigil.clock import parse_time
from vigil.queries import ANOMALY_THRESHOLD
from vigil.settings import Settings
from vigil.store import Store

MAX_SERIES = 10
MAX_WINDOW = pd.Timedelta(days=7)
MAX_RESULT_CHARS = 12_000
"""A tool result longer than this is cut: it goes into the model's context every round."""


@dataclass(frozen=True)
class ToolContext:
    store: Store
    settings: Settings
    knowledge: Any | None  # knowledge.base.KnowledgeBase, or None when it cannot open
    now: pd.Timestamp


@dataclass(frozen=True)
class ToolResult:
    """``content`` is the JSON text the model reads; ``outcome`` ok, error or refused."""

    content: str
    outcome: str
    citations: tuple[Citation, ...] = field(default=())
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[ToolContext, Any], tuple[dict[str, Any], list[Citation]]]

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        parameters = self.args.model_json_schema()
        parameters.pop("title", None)
        return {"type": "function", "function": {"name": self.name,
                "description": self.description, "parameters": parameters}}  # fmt: skip


def _time(text: str | None, ctx: ToolContext) -> pd.Timestamp:
    try:
        return parse_time(text, ctx.now) if text else ctx.now
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read time {text!r}: {exc}") from None


def _dt(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).to_pydatetime()


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


def _find_series(ctx: ToolContext, key: str | None, metric: str | None,
                 labels: dict[str, str]) -> pd.DataFrame:  # fmt: skip
    if not key and not metric:
        raise ValueError("give series_key, or metric (with labels to narrow it)")
    found = ctx.store.df(
        "SELECT series_id, series_key, metric, labels, service FROM series "
        "WHERE (?::VARCHAR IS NULL OR series_key = ?) AND (?::VARCHAR IS NULL OR metric = ?) "
        "ORDER BY series_key LIMIT 500",
        [key, key, metric, metric],
    )
    if labels and not found.empty:
        parsed = [json.loads(v) for v in found["labels"]]
        keep = [all(str(lb.get(k)) == v for k, v in labels.items()) for lb in parsed]
        found = found[keep]
    if found.empty:
        raise ValueError("no series matches; list_alerts or rank_root_causes name real ones")
    return found.head(MAX_SERIES).reset_index(drop=True)


def _series_link(metric: str) -> str:
    return f"explore?metric={metric}"


def series_stats(ctx: ToolContext, a: A.SeriesStatsArgs) -> tuple[dict, list[Citation]]:
    end = _time(a.end, ctx)
    start = _time(a.start, ctx) if a.start else end - pd.Timedelta(hours=1)
    if not start < end or end - start > MAX_WINDOW:
        raise ValueError("start must be before end, at most 7 days apart")
    found = _find_series(ctx, a.series_key, a.metric, a.labels)
    ids, window = [int(i) for i in found["series_id"]], [_dt(start), _dt(end)]
    stats = ctx.store.df(
        "SELECT series_id, count(value) AS points, min(value) AS min, max(value) AS max, "
        "avg(value) AS mean, quantile_cont(value, 0.95) AS p95, arg_max(value, ts) AS last, "
        "max(ts) AS last_ts FROM samples WHERE list_contains(?::BIGINT[], series_id) "
        "AND ts > ? AND ts <= ? GROUP BY series_id",
        [ids, *window],
    ).set_index("series_id")
    anomalies = ctx.store.df(
        "SELECT c.series_id, c.ts, p.value, c.expected, c.score FROM scores c "
        "LEFT JOIN samples p USING (series_id, ts) WHERE list_contains(?::BIGINT[], c.series_id) "
        "AND c.ts > ? AND c.ts <= ? AND c.score >= ? ORDER BY c.series_id, c.ts",
        [ids, *window, ANOMALY_THRESHOLD],
    )
    by_id = dict(iter(anomalies.groupby("series_id")))
    rows = []
    for row in found.itertuples(index=False):
        sid = int(row.series_id)
        s = stats.loc[sid] if sid in stats.index else None
        points = by_id.get(sid, anomalies.iloc[0:0])
        rows.append({
            "series_id": sid, "series_key": row.series_key, "service": row.service,
            "points": 0 if s is None else int(s["points"]),
            **{k: None if s is None or pd.isna(s[k]) else float(s[k])
               for k in ("min", "max", "mean", "p95", "last")},
            "last_ts": None if s is None else _iso(s["last_ts"]),
            "anomaly_points": len(points),
            "first_anomaly": _iso(points["ts"].min()) if len(points) else None,
            "top_anomalies": [
                {"ts": _iso(p.ts), "value": None if pd.isna(p.value) else float(p.value),
                 "expected": None if pd.isna(p.expected) else float(p.expected),
                 "score": float(p.score)}
                for p in points.nlargest(5, "score").itertuples(index=False)],
        })  # fmt: skip
    cites = [Citation("series", r.series_key, _series_link(r.metric), int(r.series_id))
             for r in found.itertuples(index=False)]  # fmt: skip
    return {"start": _iso(start), "end": _iso(end), "series": rows}, cites


_ALERT_FIELDS = ("alert_id", "state", "severity", "rule_id", "service", "value", "labels",
                 "annotations", "active_at", "fired_at", "resolved_at", "acknowledged_by",
                 "series_id")  # fmt: skip


def _alert_cite(alert: dict) -> Citation:
    title = alert["annotations"].get("summary") or alert["rule_id"]
    return Citation("alert", str(title), f"alerts?alert={alert['alert_id']}", alert["series_id"])


def list_alerts_tool(ctx: ToolContext, a: A.ListAlertsArgs) -> tuple[dict, list[Citation]]:
    from vigil.alert_list import list_alerts

    alerts = list_alerts(ctx.store, list(a.state), ctx.settings.parsed_inhibit_rules())
    if a.service:
        alerts = [x for x in alerts if x["service"] == a.service]
    shown = [{k: x[k] for k in _ALERT_FIELDS} for x in alerts[: a.limit]]
    return {"total": len(alerts), "alerts": shown}, [_alert_cite(x) for x in shown]


def get_alert(ctx: ToolContext, a: A.GetAlertArgs) -> tuple[dict, list[Citation]]:
    from vigil.alert_detail import alert_detail

    detail = alert_detail(ctx.store, a.alert_id)
    if detail is None:
        raise ValueError(f"no alert {a.alert_id!r}; list_alerts gives the ids")
    alert = {k: detail["alert"][k] for k in _ALERT_FIELDS}
    events = detail["events"].head(50)
    timeline = [{"ts": _iso(e.ts), "from": e.from_state, "to": e.to_state, "actor": e.actor,
                 "comment": e.comment} for e in events.itertuples(index=False)]  # fmt: skip
    return {"alert": alert, "timeline": timeline,
            "notifications": len(detail["notifications"])}, [_alert_cite(alert)]  # fmt: skip


def rank_root_causes(ctx: ToolContext, a: A.RankRootCausesArgs) -> tuple[dict, list[Citation]]:
    from vigil.rca import rca_as_dict, root_causes

    result = root_causes(
        ctx.store, ctx.settings, alert_id=a.alert_id,
        at=None if a.alert_id else _time(a.at, ctx),
        lookback=pd.Timedelta(minutes=a.lookback_minutes), focus_service=a.service,
        limit=a.limit,
    )  # fmt: skip
    cites = [Citation("series", c.series_key, _series_link(c.metric), int(c.series_id))
             for c in result.series[: a.limit]]  # fmt: skip
    return rca_as_dict(result), cites


def hit_citation(hit: Any) -> Citation:
    """A knowledge hit as a citation: runbook sections by source and section."""
    kind = "incident" if hit.kind == "incident" else "runbook"
    title = " — ".join(p for p in (str(hit.source or ""), str(hit.section or "")) if p)
    return Citation(kind, title or str(hit.chunk_id), hit.link or None)


def _hits(hits: list[Any]) -> list[dict[str, Any]]:
    return [{"chunk_id": h.chunk_id, "source": h.source, "section": h.section, "kind": h.kind,
             "link": h.link, "score": round(float(h.score), 4), "text": h.text,
             **{k: v for k, v in (h.extra or {}).items() if k in ("cause", "fix", "service",
                                                                    "started_at")}}
            for h in hits]  # fmt: skip


def _knowledge(ctx: ToolContext) -> Any:
    if ctx.knowledge is None:
        raise ValueError("the knowledge base is not available")
    return ctx.knowledge


def search_knowledge(ctx: ToolContext, a: A.SearchKnowledgeArgs) -> tuple[dict, list[Citation]]:
    hits = _knowledge(ctx).search(a.query, k=a.k, kind=a.kind)
    return {"hits": _hits(hits)}, [hit_citation(h) for h in hits]


def similar_incidents(ctx: ToolContext, a: A.SimilarIncidentsArgs) -> tuple[dict, list[Citation]]:
    hits = _knowledge(ctx).similar_incidents(a.text, k=a.k, service=a.service)
    return {"incidents": _hits(hits)}, [hit_citation(h) for h in hits]


def forecast_series(ctx: ToolContext, a: A.ForecastSeriesArgs) -> tuple[dict, list[Citation]]:
    found = _find_series(ctx, a.series_key, None, {})
    row = found.iloc[0]
    end = _time(a.at, ctx)
    samples = ctx.store.df(
        "SELECT ts, value FROM samples WHERE series_id = ? AND ts > ? AND ts <= ? ORDER BY ts",
        [int(row["series_id"]), _dt(end - pd.Timedelta(hours=a.window_hours)), _dt(end)],
    )
    x = (pd.to_datetime(samples["ts"]) - end).dt.total_seconds().to_numpy()
    points, level, slope = linear_trends(
        np.zeros(len(x), int), x, samples["value"].to_numpy(float), 1
    )
    if points[0] < 3 or not np.isfinite(slope[0]):
        raise ValueError("too few samples in the window to fit a trend")
    horizon = a.horizon_hours * 3600
    data = {"series_key": row["series_key"], "points": int(points[0]),
            "last": float(samples["value"].iloc[-1]), "level_now": float(level[0]),
            "slope_per_hour": float(slope[0]) * 3600,
            "projected": float(level[0] + slope[0] * horizon),
            "projected_at": _iso(end + pd.Timedelta(seconds=horizon))}  # fmt: skip
    if a.threshold is not None:
        op = ">=" if a.threshold >= level[0] else "<="
        eta = float(seconds_to_threshold(level, slope, a.threshold, op)[0])
        data["hours_to_threshold"] = None if not np.isfinite(eta) else eta / 3600
    return data, [Citation("series", row["series_key"], _series_link(row["metric"]),
                           int(row["series_id"]))]  # fmt: skip


TOOLS: dict[str, Tool] = {t.name: t for t in (
    Tool("series_stats", "Statistics of series over a window (default the last hour): min, "
         "max, mean, p95, last, and the points the detectors scored anomalous.",
         A.SeriesStatsArgs, series_stats),
    Tool("list_alerts", "Alerts, most recently active first, by state and service.",
         A.ListAlertsArgs, list_alerts_tool),
    Tool("get_alert", "One alert with its state timeline.", A.GetAlertArgs, get_alert),
    Tool("rank_root_causes", "Rank the likely root-cause services and series: which went "
         "anomalous first and hardest along the service dependency graph.",
         A.RankRootCausesArgs, rank_root_causes),
    Tool("search_knowledge", "Search runbooks and past incidents; cite what you use.",
         A.SearchKnowledgeArgs, search_knowledge),
    Tool("similar_incidents", "Past incidents like these symptoms, with cause and fix.",
         A.SimilarIncidentsArgs, similar_incidents),
    Tool("forecast_series", "Fit a linear trend to a series and project it ahead.",
         A.ForecastSeriesArgs, forecast_series),
)}  # fmt: skip


def tool_schemas() -> list[dict[str, Any]]:
    return [tool.schema() for tool in TOOLS.values()]


def _content(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) > MAX_RESULT_CHARS:
        text = json.dumps({"truncated": True, "partial": text[:MAX_RESULT_CHARS]},
                          ensure_ascii=False)  # fmt: skip
    return text


def run_tool(ctx: ToolContext, name: str, arguments: str) -> ToolResult:
    """Run one tool call; every failure is an error result the model can read."""
    tool = TOOLS.get(name)
    if tool is None:
        known = ", ".join(TOOLS)
        return ToolResult(_content({"error": f"no tool named {name[:80]!r}; tools: {known}"}),
                          "refused")  # fmt: skip
    try:
        raw = json.loads(arguments or "{}")
        if not isinstance(raw, dict):
            raise ValueError("arguments must be a JSON object")
        args = tool.args.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        return ToolResult(_content({"error": f"bad arguments for {name}: {_short(exc)}"}),
                          "refused")  # fmt: skip
    try:
        data, cites = tool.run(ctx, args)
    except Exception as exc:  # a tool that fails tells the model why, the answer goes on
        return ToolResult(_content({"error": f"{name} failed: {_short(exc)}"}), "error")
    return ToolResult(_content(data), "ok", tuple(cites), data)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                         for e in exc.errors()[:5])  # fmt: skip
    return " ".join(str(exc).split())[:300]
