"""Which sources run, decided by settings alone."""

from __future__ import annotations

from vigil.settings import Settings
from vigil.sources.base import Source


def build_sources(settings: Settings) -> list[Source]:
    sources: list[Source] = []
    if settings.demo_enabled:
        from vigil.sources.demo_source import DemoSource

        sources.append(
            DemoSource(settings.demo_seed, settings.step_seconds, settings.demo_backfill_days)
        )
    if settings.host_enabled:
        from vigil.sources.host import HostSource

        sources.append(HostSource(settings.step_seconds))
    return sources
