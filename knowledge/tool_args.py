"""The arguments of each assistant tool, as pydantic models.

One model per tool gives both the JSON schema the language model is shown and the check
its arguments pass before anything runs: unknown fields, wrong types and out-of-range
sizes are refused with a message the model can correct itself from. Sizes are bounded so
no argument can make a tool read the whole database.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Time = Field(
    None, max_length=40,
    description="ISO time in UTC (2026-01-31T14:05:00) or relative: now, -30m, -2h.",
)  # fmt: skip


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesStatsArgs(_Args):
    series_key: str | None = Field(
        None, max_length=500, description='Exact key, e.g. mysql_connections{instance="db-1"}.'
    )  # fmt: skip
    metric: str | None = Field(None, max_length=200, description="Metric name, when no key.")
    labels: dict[str, str] = Field(
        default_factory=dict, max_length=10, description="Label values the series must have."
    )
    start: str | None = Time
    end: str | None = Time


class ListAlertsArgs(_Args):
    state: list[Literal["pending", "firing", "resolved"]] = Field(
        default_factory=list, max_length=3, description="States to keep; empty: all."
    )
    service: str | None = Field(None, max_length=100, description="Only this service's.")
    limit: int = Field(20, ge=1, le=50)


class GetAlertArgs(_Args):
    alert_id: str = Field(min_length=1, max_length=200)


class RankRootCausesArgs(_Args):
    alert_id: str | None = Field(None, max_length=200, description="Rank around this alert.")
    at: str | None = Time
    service: str | None = Field(None, max_length=100, description="The service asked about.")
    lookback_minutes: int = Field(60, ge=5, le=24 * 60)
    limit: int = Field(5, ge=1, le=10)


class SearchKnowledgeArgs(_Args):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(5, ge=1, le=10)
    kind: str | None = Field(None, max_length=40, description="runbook or incident.")


class SimilarIncidentsArgs(_Args):
    text: str = Field(min_length=1, max_length=1000, description="Symptoms to match.")
    k: int = Field(3, ge=1, le=5)
    service: str | None = Field(None, max_length=100)


class ForecastSeriesArgs(_Args):
    series_key: str = Field(min_length=1, max_length=500)
    window_hours: float = Field(6.0, gt=0, le=48, description="History the trend is fitted on.")
    horizon_hours: float = Field(24.0, gt=0, le=24 * 14, description="How far ahead.")
    threshold: float | None = Field(None, description="Say when the trend reaches this value.")
    at: str | None = Time
