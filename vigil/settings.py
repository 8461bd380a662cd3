"""All configuration, from ``VIGIL_*`` environment variables and an optional ``vigil.toml``.

This is the only module that reads the environment. Precedence, highest first: explicit
arguments, environment variables, the TOML file (``VIGIL_CONFIG`` or ``./vigil.toml``),
defaults. Every field is listed in the README's settings table.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vigil.errors import SettingsError


def _config_file() -> Path:
    return Path(os.environ.get("VIGIL_CONFIG", "vigil.toml"))


class Settings(BaseSettings):
    """Vigil's settings; field descriptions are the documentation."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", frozen=True)

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
        return (init_settings, env_settings, toml)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "vigil.duckdb"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "vigil.lock"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation failures into one readable line."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"invalid setting {field}: {first['msg']}") from None
