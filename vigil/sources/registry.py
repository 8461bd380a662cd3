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
    endpoints = settings.prometheus_endpoints()
    if endpoints:
        from vigil.sources.prometheus import PrometheusSource

        taken = {s.name for s in sources}
        for endpoint in endpoints:
            name = unique_name(endpoint.name, taken)
            taken.add(name)
            sources.append(PrometheusSource(endpoint, name=name))
    return sources


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``...: source names key watermarks and health rows."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate
