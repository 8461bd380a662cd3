"""Alertmanager's routing tree: which routes (and so receivers and grouping) an alert takes.

An alert enters at the root, which matches everything. At each route it tries the
children in order; a matching child is descended into, and matching stops at it unless
it says ``continue``. When no child matches, the route itself takes the alert. Unset
settings (receiver, group_by, timers, …) are inherited from the parent. A route's
``key`` is Alertmanager's: the parent's key, ``/``, and the route's matchers, so groups
keep their identity while the tree is edited elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from analytics.dispatch import GroupingPolicy
from analytics.silences import Matcher, matches_all, parse_matcher
from analytics.time_intervals import IntervalSpec, in_any


@dataclass(frozen=True)
class Route:
    key: str
    receiver: str
    policy: GroupingPolicy
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    routes: tuple[Route, ...] = field(default=(), repr=False)

    def muted_at(self, at: pd.Timestamp, intervals: Mapping[str, Sequence[IntervalSpec]]) -> bool:
        """Whether notifications of this route are held back at ``at`` (muted, or outside
        every one of its active intervals)."""
        if any(in_any(intervals[name], at) for name in self.mute_time_intervals):
            return True
        return bool(self.active_time_intervals) and not any(
            in_any(intervals[name], at) for name in self.active_time_intervals
        )


_TIMERS = ("group_wait_seconds", "group_interval_seconds", "repeat_interval_seconds")


def build_route(spec: Mapping[str, Any], parent: Route | None = None, suffix: str = "") -> Route:
    """A route and its children from the settings form (``RouteConfig.model_dump()``);
    the root's unset settings come from ``parent`` (the global defaults)."""
    matchers = tuple(parse_matcher(m) for m in spec.get("matchers") or ())
    inside = ",".join(str(m) for m in matchers)
    key = "{}" if parent is None or parent.key == "" else f"{parent.key}/{{{inside}}}{suffix}"
    base = parent.policy if parent is not None else GroupingPolicy()
    group_by = spec.get("group_by")
    policy = replace(
        base,
        group_by=tuple(group_by) if group_by is not None else base.group_by,
        **{t: spec[t] for t in _TIMERS if spec.get(t) is not None},
    )
    receiver = spec.get("receiver") or (parent.receiver if parent is not None else "default")
    route = Route(key, receiver, policy, matchers, bool(spec.get("continue_")),
                  tuple(spec.get("mute_time_intervals") or ()),
                  tuple(spec.get("active_time_intervals") or ()))  # fmt: skip
    specs = list(spec.get("routes") or ())
    texts = [tuple(sorted(s.get("matchers") or ())) for s in specs]
    children = tuple(build_route(s, route, f"/{i}" if texts.count(texts[i]) > 1 else "")
                     for i, s in enumerate(specs))  # fmt: skip
    return replace(route, routes=children)


def defaults(policy: GroupingPolicy, receiver: str = "default") -> Route:
    """The parent of a root route: the global grouping settings and receiver."""
    return Route("", receiver, policy)


def match(route: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes that take an alert with ``labels`` (Alertmanager's ``Route.Match``)."""
    if not matches_all(route.matchers, labels):
        return []
    taken: list[Route] = []
    for child in route.routes:
        found = match(child, labels)
        taken += found
        if found and not child.continue_:
            break
    return taken or [route]


def walk(route: Route) -> list[Route]:
    """Every route of the tree, root first."""
    return [route, *(r for child in route.routes for r in walk(child))]
