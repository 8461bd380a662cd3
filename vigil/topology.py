"""Which services call which, and what else they are called: the settings', else the demo
estate's while it runs.

The service map on the wall and root-cause ranking read it; an estate without one just
has no edges (every service stands alone)."""

from __future__ import annotations

from vigil.settings import Settings


def service_dependencies(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Caller → the services it calls."""
    if settings.service_dependencies:
        return {k: tuple(v) for k, v in settings.service_dependencies.items()}
    if settings.demo_enabled:
        from vigil.sources.demo import DEPENDENCIES

        return dict(DEPENDENCIES)
    return {}


def service_aliases(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Service → the other names people use for it ("checkout" for orders)."""
    if settings.service_aliases:
        return {k: tuple(v) for k, v in settings.service_aliases.items()}
    if settings.demo_enabled:
        from vigil.sources.demo import ALIASES

        return dict(ALIASES)
    return {}
