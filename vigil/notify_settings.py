"""Settings of notification delivery: receivers (channels), the routing tree, time
intervals, and Alertmanager intake and forwarding.

They mirror Alertmanager's configuration (``receivers``, ``route``, ``time_intervals``)
so a team can carry its routing over; timers are in seconds like every other Vigil
setting. Secrets (webhook URLs carrying tokens, signing secrets, SMTP passwords) are
``SecretStr``: they print as ``**********`` and are read with ``secret_text`` only where
a request is made. Each can instead name an environment variable (``*_env``), so the
TOML file need not hold it; this module resolves those, as part of the settings layer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from analytics.selectors import LABEL_NAME
from analytics.silences import parse_matcher
from vigil.secrets import resolve_named

CHANNEL_TYPES = ("webhook", "slack", "email", "dingtalk", "wecom", "feishu")
_SECRET_FIELDS = ("url", "secret", "bearer_token", "smtp_password")


def secret_text(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class Receiver(BaseModel):
    """One place notifications go. ``type`` picks the channel; fields a channel does not
    use are ignored by it."""

    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field(min_length=1, description="Name routes refer to.")
    type: Literal["webhook", "slack", "email", "dingtalk", "wecom", "feishu"]
    url: SecretStr | None = Field(
        None, description="Webhook URL (it often carries the robot's token: kept secret)."
    )
    url_env: str | None = Field(None, description="Environment variable holding the URL.")
    secret: SecretStr | None = Field(
        None, description="Signing secret (DingTalk 加签, Feishu 签名校验)."
    )
    secret_env: str | None = Field(None, description="Environment variable holding the secret.")
    bearer_token: SecretStr | None = Field(None, description="Webhook: bearer token to send.")
    bearer_token_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="Webhook: extra headers.")
    language: Literal["en", "zh"] | None = Field(
        None, description="Message language; the UI's default language when unset."
    )
    send_resolved: bool = Field(True, description="Also notify when alerts resolve.")
    rate_limit_per_minute: int = Field(
        30, ge=1, description="Most messages a minute (robots refuse more: DingTalk's is 20)."
    )
    timeout_seconds: float = Field(10.0, gt=0, description="Per-request timeout.")
    title_template: str | None = Field(None, description="Jinja2 override of the title.")
    body_template: str | None = Field(None, description="Jinja2 override of the body.")
    smtp_host: str | None = Field(None, description="Email: SMTP server.")
    smtp_port: int = Field(587, ge=1, le=65535, description="Email: SMTP port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="Email: STARTTLS (587), implicit TLS (465) or none."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_env: str | None = None
    tls_verify: bool = Field(True, description="Verify the server's TLS certificate.")
    email_from: str | None = Field(None, description="Email: From address.")
    email_to: tuple[str, ...] = Field((), description="Email: recipients.")

    @model_validator(mode="after")
    def _resolve_env(self) -> Receiver:
        resolve_named(self, _SECRET_FIELDS, f"receiver {self.name}")
        return self

    @model_validator(mode="after")
    def _complete(self) -> Receiver:
        if self.type == "email":
            missing = [f for f in ("smtp_host", "email_from") if not getattr(self, f)]
            if not self.email_to:
                missing.append("email_to")
            if missing:
                raise ValueError(f"receiver {self.name}: email needs {', '.join(missing)}")
        elif self.url is None:
            raise ValueError(f"receiver {self.name}: {self.type} needs url (or url_env)")
        return self


class RouteConfig(BaseModel):
    """A node of the routing tree, as Alertmanager's ``route``: unset fields inherit."""

    model_config = {"extra": "forbid", "frozen": True, "populate_by_name": True}

    receiver: str | None = None
    matchers: tuple[str, ...] = Field((), description='Alertmanager matchers: severity="page".')
    continue_: bool = Field(
        False, alias="continue", description="Keep matching siblings after this route."
    )
    group_by: tuple[str, ...] | None = None
    group_wait_seconds: int | None = Field(None, ge=0)
    group_interval_seconds: int | None = Field(None, ge=1)
    repeat_interval_seconds: int | None = Field(None, ge=1)
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    routes: tuple[RouteConfig, ...] = ()

    @field_validator("matchers")
    @classmethod
    def _valid_matchers(cls, texts: tuple[str, ...]) -> tuple[str, ...]:
        for text in texts:
            parse_matcher(text)  # ValueError says what is wrong
        return texts

    @field_validator("group_by")
    @classmethod
    def _valid_group_by(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        bad = [n for n in names or () if n != "..." and not LABEL_NAME.fullmatch(n)]
        if bad:
            raise ValueError(f"not label names: {', '.join(bad)}")
        return names


class TimeRange(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}

    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
    end_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class TimeIntervalSpec(BaseModel):
    """One of Alertmanager's ``time_intervals`` entries: every field given must hold."""

    model_config = {"extra": "forbid", "frozen": True}

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[str, ...] = ()  # monday, monday:friday
    days_of_month: tuple[str, ...] = ()  # 1, 1:5, -1 (the last day)
    months: tuple[str, ...] = ()  # 1:3, may, january:march
    years: tuple[str, ...] = ()  # 2026, 2026:2027
    location: str = "UTC"


class TimeIntervalConfig(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field(min_length=1)
    time_intervals: tuple[TimeIntervalSpec, ...] = ()


class AlertmanagerTarget(BaseModel):
    """An Alertmanager that Vigil's alerts are pushed to (API v2)."""

    model_config = {"extra": "forbid", "frozen": True}

    url: str = Field(description="Base URL, e.g. http://alertmanager:9093")
    bearer_token: SecretStr | None = None
    bearer_token_env: str | None = None
    timeout_seconds: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _resolve_env(self) -> AlertmanagerTarget:
        resolve_named(self, ("bearer_token",), f"alertmanager {self.url}")
        return self


def check_routing(receivers: tuple[Receiver, ...], route: RouteConfig | None,
                  intervals: tuple[TimeIntervalConfig, ...]) -> None:  # fmt: skip
    """Every receiver and time interval a route names exists, and names are unique;
    ValueError naming the first problem otherwise."""
    names = [r.name for r in receivers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"receiver names must be unique: {', '.join(duplicates)}")
    interval_names = {i.name for i in intervals}
    pending = [route] if route is not None else []
    while pending:
        node = pending.pop()
        if node.receiver is not None and node.receiver not in names:
            raise ValueError(f"route names receiver {node.receiver!r}, which is not defined")
        for name in (*node.mute_time_intervals, *node.active_time_intervals):
            if name not in interval_names:
                raise ValueError(f"route names time interval {name!r}, which is not defined")
        pending.extend(node.routes)
