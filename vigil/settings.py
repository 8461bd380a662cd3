"""All configuration, from ``VIGIL_*`` environment variables and an optional ``vigil.toml``.

This is the only module that reads the environment. Precedence, highest first: explicit
arguments, environment variables, the TOML file (``VIGIL_CONFIG`` or ``./vigil.toml``),
defaults. Every field is listed in the README's settings table.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from analytics.dispatch import GroupingPolicy
from analytics.routing import Route, build_route, defaults
from analytics.selectors import LABEL_NAME
from analytics.silences import InhibitRule
from analytics.time_intervals import IntervalSpec, parse_spec
from vigil.errors import SettingsError
from vigil.notify_settings import (
    AlertmanagerTarget,
    Receiver,
    RouteConfig,
    TimeIntervalConfig,
    check_routing,
)
from vigil.secrets import SecretsFileError, file_secrets, resolve_named, secrets_file

if TYPE_CHECKING:
    from vigil.auth import LoginPolicy

# A critical alert on a host mutes that host's warnings (Alertmanager's classic example).
DEFAULT_INHIBIT_RULES = (
    {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
     "equal": ["instance"]},
)  # fmt: skip


WALL_VIEWS = ("health", "map", "alerts", "anomalies", "capacity")
SECRET_SETTINGS = ("intake_token", "llm_api_key", "embedding_api_key", "admin_password")


def _config_file() -> Path:
    return Path(os.environ.get("VIGIL_CONFIG", "vigil.toml"))


class PrometheusQuery(BaseModel):
    """One PromQL selector or expression to pull, optionally stored under another name."""

    model_config = {"extra": "forbid", "frozen": True}

    query: str = Field(description="PromQL selector or expression.")
    rename: str | None = Field(None, description="Metric name to store the result under.")


class PrometheusEndpoint(BaseModel):
    """A Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics)."""

    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field("prometheus", description="Source name shown on the sources page.")
    url: str = Field(description="Base URL, e.g. http://prometheus:9090")
    username: str | None = Field(None, description="Basic-auth user.")
    password: SecretStr | None = Field(None, description="Basic-auth password.")
    bearer_token: SecretStr | None = Field(None, description="Bearer token.")
    password_env: str | None = Field(
        None, description="Variable (or secrets file entry) holding the password."
    )
    bearer_token_env: str | None = Field(
        None, description="Variable (or secrets file entry) holding the bearer token."
    )
    tls_verify: bool = Field(True, description="Verify the server's TLS certificate.")
    ca_file: Path | None = Field(None, description="CA bundle to verify the server with.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers, e.g. X-Scope-OrgID for Mimir."
    )
    queries: tuple[PrometheusQuery, ...] = Field(
        (), description="What to pull; empty means `up` and a default node_exporter set."
    )
    step_seconds: int = Field(60, ge=1, description="Query step.")
    lookback_days: float = Field(
        1.0, gt=0, description="How far back the first pull of a query reaches."
    )
    timeout_seconds: float = Field(30.0, gt=0, description="Per-request timeout.")
    max_series_per_query: int = Field(
        10_000, ge=1, description="Series cap per query; beyond it the query is cut and reported."
    )

    @model_validator(mode="after")
    def _resolve_secrets(self) -> PrometheusEndpoint:
        resolve_named(self, ("password", "bearer_token"), f"prometheus {self.name}")
        return self


class _SecretsFileSource(PydanticBaseSettingsSource):
    """Top-level secret settings (``llm_api_key = "..."``) from the secrets file, below the
    environment and above ``vigil.toml``; see :mod:`vigil.secrets`."""

    def get_field_value(self, field: object, field_name: str) -> tuple[object, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, object]:
        table = file_secrets()
        return {name: table[name] for name in SECRET_SETTINGS if name in table}


class Settings(BaseSettings):
    """Vigil's settings; field descriptions are the documentation."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", frozen=True,
                                      allow_inf_nan=False)  # fmt: skip

    data_dir: Path = Field(
        Path("data"), description="Where the database, models and snapshots live."
    )
    demo_enabled: bool = Field(True, description="Stream the demo estate (the embedded default).")
    demo_seed: int = Field(1, description="Seed of the demo estate; same seed, same estate.")
    demo_backfill_days: int = Field(
        14, ge=0, le=90, description="Days of demo history written on first start."
    )
    host_enabled: bool = Field(True, description="Collect this machine's metrics with psutil.")
    step_seconds: int = Field(
        60, ge=5, le=3600, description="Sample step of the demo and host sources."
    )
    pull_interval_seconds: int = Field(60, ge=5, description="How often sources are pulled.")
    evaluate_interval_seconds: int = Field(60, ge=5, description="How often rules are evaluated.")
    refit_interval_seconds: int = Field(
        6 * 3600, ge=60, description="How often every series' models are refitted."
    )
    training_days: int = Field(14, ge=1, description="History window models are fitted on.")
    stale_after_seconds: int = Field(
        300, ge=30, description="Data older than this is shown as stale on the wall."
    )
    wall_refresh_seconds: int = Field(10, ge=2, description="Wall auto-refresh interval.")
    scheduler_enabled: bool = Field(True, description="Run the background jobs in the engine.")
    ui_host: str = Field("localhost", description="Address the Streamlit UI listens on.")
    ui_port: int = Field(8501, description="Port of the Streamlit UI.")
    language: str = Field("en", pattern="^(en|zh)$", description="UI language: en or zh.")
    http_host: str = Field("127.0.0.1", description="Address of the engine's HTTP port.")
    http_port: int = Field(
        9464, ge=0, le=65535, description="Engine HTTP port: /metrics, /healthz (0 = off)."
    )
    prometheus_url: str | None = Field(
        None, description="One Prometheus to pull from, with the default query set."
    )
    prometheus: tuple[PrometheusEndpoint, ...] = Field(
        (), description="Prometheus endpoints (TOML `[[prometheus]]` tables; see README)."
    )
    retention_days: int = Field(30, ge=1, description="Days raw samples are kept.")
    rollup_retention_days: int = Field(
        400, ge=1, description="Days 5-minute rollups (min, max, mean, count) are kept."
    )
    retention_interval_seconds: int = Field(
        3600, ge=60, description="How often retention and rollups run."
    )
    snapshot_interval_seconds: int = Field(
        900, ge=60, description="How often Parquet snapshots for notebooks are written."
    )
    backup_dir: Path | None = Field(
        None, description="Where scheduled backups go (default: the data dir's `backups/`, "
        "which backups leave out).",
    )  # fmt: skip
    backup_interval_hours: float = Field(
        24.0, ge=0, description="How often a backup archive is written (0: never)."
    )
    backup_keep: int = Field(7, ge=1, description="How many scheduled backups are kept.")
    group_by: tuple[str, ...] = Field(
        ("service",),
        description="Labels whose values group alerts into one notification, as "
        "Alertmanager's group_by (empty: every alert in one group).",
    )
    group_wait_seconds: int = Field(
        30, ge=0, description="How long a new alert group waits for more alerts before it "
        "first notifies.",
    )  # fmt: skip
    group_interval_seconds: int = Field(
        300, ge=1, description="How often a group that has notified is checked for changes."
    )
    repeat_interval_seconds: int = Field(
        4 * 3600, ge=1, description="How long before an unchanged firing group notifies again."
    )
    send_resolved: bool = Field(True, description="Notify when a group's alerts resolve.")
    dispatch_interval_seconds: int = Field(
        10, ge=1, description="How often alert groups are checked for notifications due."
    )
    external_url: str = Field(
        "http://localhost:8501", description="Where people reach Vigil: links in notifications."
    )
    inhibit_rules: tuple[dict[str, list[str]], ...] = Field(
        DEFAULT_INHIBIT_RULES,
        description="Alertmanager-style inhibition (TOML `[[inhibit_rules]]` with "
        "source_matchers, target_matchers, equal): a firing source alert mutes matching "
        "targets with equal values of the `equal` labels.",
    )

    receivers: tuple[Receiver, ...] = Field(
        (), description="Where notifications go (TOML `[[receivers]]`: webhook, slack, "
        "email, dingtalk, wecom, feishu; see README).",
    )  # fmt: skip
    route: RouteConfig | None = Field(
        None, description="Alertmanager-style routing tree (TOML `[route]`); unset: every "
        "receiver gets every notification.",
    )  # fmt: skip
    time_intervals: tuple[TimeIntervalConfig, ...] = Field(
        (), description="Named time intervals routes mute or activate in (TOML "
        "`[[time_intervals]]`, as Alertmanager's).",
    )  # fmt: skip
    notify_interval_seconds: int = Field(5, ge=1, description="How often the outbox is sent.")
    notify_max_attempts: int = Field(
        8, ge=1, description="Attempts before a notification goes to the dead letters."
    )
    notify_backoff_seconds: float = Field(
        5.0, gt=0, description="First retry delay; doubles each attempt, with jitter."
    )
    notify_backoff_max_seconds: float = Field(900.0, gt=0, description="Longest retry delay.")
    intake_token: SecretStr | None = Field(
        None, description="Bearer token Alertmanager webhooks must carry to "
        "/api/v1/alerts/webhook (unset: no token needed).",
    )  # fmt: skip
    alertmanagers: tuple[AlertmanagerTarget, ...] = Field(
        (), description="Alertmanagers Vigil's alerts are pushed to (API v2; TOML "
        "`[[alertmanagers]]`).",
    )  # fmt: skip
    forward_interval_seconds: int = Field(
        60, ge=5, description="How often firing alerts are re-sent to the Alertmanagers."
    )

    wall_rotate_seconds: int = Field(
        30, ge=0, description="How long the wall shows each view of its playlist (0: no "
        "rotation, the first view stays).",
    )  # fmt: skip
    wall_views: tuple[str, ...] = Field(
        WALL_VIEWS, min_length=1, description="The wall's playlist, in order: health, map, "
        "alerts, anomalies, capacity.",
    )  # fmt: skip
    service_dependencies: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Which services each service calls (TOML "
        "`[service_dependencies]`, e.g. orders = [\"payments\", \"mysql\"]); the demo "
        "estate's when unset and the demo runs.",
    )  # fmt: skip
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint of the assistant's language model "
        "(OpenAI, Azure, DeepSeek, Qwen, Ollama, vLLM); unset: evidence mode only.",
    )  # fmt: skip
    llm_model: str = Field("gpt-4o-mini", description="Model name at that endpoint.")
    llm_api_key: SecretStr | None = Field(
        None, description="API key of the endpoint (set it in the environment, not a file)."
    )
    llm_timeout_seconds: float = Field(30.0, gt=0, description="Per-request timeout.")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    llm_daily_token_budget: int = Field(
        200_000, ge=0, description="Tokens the assistant may use per UTC day across all users "
        "(0: no language model calls; evidence mode only).",
    )  # fmt: skip
    llm_requests_per_minute: int = Field(
        20, ge=1, description="Most language model requests per minute, across all users."
    )
    llm_price_per_1k_input_tokens: float = Field(
        0.00015, ge=0, description="Price of 1,000 prompt tokens, for the cost estimate."
    )
    llm_price_per_1k_output_tokens: float = Field(
        0.0006, ge=0, description="Price of 1,000 completion tokens, for the cost estimate."
    )
    llm_max_tool_rounds: int = Field(
        6, ge=1, le=20, description="Most tool-calling rounds in one answer."
    )
    embedding_base_url: str | None = Field(
        None, description="OpenAI-compatible embedding endpoint; unset: the offline embedding."
    )
    embedding_model: str = Field("text-embedding-3-small", description="Embedding model name.")
    embedding_api_key: SecretStr | None = Field(
        None, description="API key of the embedding endpoint (from the environment)."
    )
    runbooks_dir: Path | None = Field(
        None, description="Runbooks the knowledge base indexes (default: the data dir's "
        "`runbooks/`, where the sample runbooks ship)."
    )  # fmt: skip
    session_idle_minutes: int = Field(
        480, ge=1, description="A signed-in session ends after this long without a request."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins in a row before the user is locked for a while."
    )
    login_lockout_minutes: int = Field(15, ge=1, description="How long such a lock lasts.")
    admin_user: str = Field(
        "admin", description="Name of the first admin, created on first start when "
        "`admin_password` is set and no user exists yet.",
    )  # fmt: skip
    admin_password: SecretStr | None = Field(
        None, description="Password of that first admin (from the environment or the "
        "secrets file; ignored once any user exists).",
    )  # fmt: skip
    service_aliases: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Other names people use for a service (TOML "
        "`[service_aliases]`, e.g. orders = [\"checkout\"]); the demo estate's when unset "
        "and the demo runs.",
    )  # fmt: skip

    @model_validator(mode="after")
    def _secrets_file_outside_data_dir(self) -> Settings:
        path = secrets_file()
        if path is not None and path.resolve().is_relative_to(self.data_dir.resolve()):
            raise ValueError(f"the secrets file {path} is inside the data dir; keep it "
                             "outside, where backups and snapshots do not copy it")  # fmt: skip
        return self

    @field_validator("wall_views")
    @classmethod
    def _valid_wall_views(cls, views: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in views if v not in WALL_VIEWS]
        if bad:
            raise ValueError(f"unknown wall views {', '.join(bad)}; use {', '.join(WALL_VIEWS)}")
        return views

    @model_validator(mode="after")
    def _valid_routing(self) -> Settings:
        check_routing(self.receivers, self.route, self.time_intervals)
        self.parsed_time_intervals()  # ValueError names what is wrong
        return self

    @field_validator("inhibit_rules")
    @classmethod
    def _valid_inhibit_rules(cls, rules: tuple[dict, ...]) -> tuple[dict, ...]:
        for rule in rules:
            InhibitRule.from_spec(rule)  # ValueError names what is wrong
        return rules

    @field_validator("group_by")
    @classmethod
    def _valid_group_by(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        bad = [n for n in names if not LABEL_NAME.fullmatch(n)]
        if bad:
            raise ValueError(f"not label names: {', '.join(bad)}")
        return names

    def grouping_policy(self) -> GroupingPolicy:
        return GroupingPolicy(self.group_by, self.group_wait_seconds,
                              self.group_interval_seconds, self.repeat_interval_seconds,
                              self.send_resolved)  # fmt: skip

    def routing_tree(self) -> Route:
        """The routing tree; without a ``route``, every receiver gets every notification
        (and with no receivers either, notifications are recorded for ``default``). A
        receiver's ``send_resolved`` applies to the routes that use it."""
        spec = self.route.model_dump() if self.route is not None else {
            "routes": [{"receiver": r.name, "continue_": True} for r in self.receivers]
        }  # fmt: skip
        root = build_route(spec, defaults(self.grouping_policy()))
        resolved = {r.name: r.send_resolved for r in self.receivers}

        def adjust(route: Route) -> Route:
            policy = replace(route.policy,
                             send_resolved=route.policy.send_resolved
                             and resolved.get(route.receiver, True))  # fmt: skip
            return replace(route, policy=policy, routes=tuple(adjust(r) for r in route.routes))

        return adjust(root)

    def parsed_time_intervals(self) -> dict[str, list[IntervalSpec]]:
        return {i.name: [parse_spec(s.model_dump()) for s in i.time_intervals]
                for i in self.time_intervals}  # fmt: skip

    def parsed_inhibit_rules(self) -> list[InhibitRule]:
        return [InhibitRule.from_spec(rule) for rule in self.inhibit_rules]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, _SecretsFileSource(settings_cls), toml)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "vigil.duckdb"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    def prometheus_endpoints(self) -> tuple[PrometheusEndpoint, ...]:
        """Configured endpoints, plus the one ``VIGIL_PROMETHEUS_URL`` names."""
        extra = (PrometheusEndpoint(url=self.prometheus_url),) if self.prometheus_url else ()
        return self.prometheus + extra

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "vigil.lock"

    def login_policy(self) -> LoginPolicy:
        from vigil.auth import LoginPolicy

        return LoginPolicy(self.login_max_failures,
                           pd.Timedelta(minutes=self.login_lockout_minutes),
                           pd.Timedelta(minutes=self.session_idle_minutes))  # fmt: skip

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def runbooks_path(self) -> Path:
        return self.runbooks_dir or self.data_dir / "runbooks"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation failures into one readable line."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except SecretsFileError as exc:
        raise SettingsError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{_config_file()} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{_config_file()} is not TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        where = f"invalid setting {field}" if field else "invalid settings"
        raise SettingsError(f"{where}: {message}") from None
