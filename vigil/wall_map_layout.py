"""Where each service sits on the wall's service map: callers left, callees right."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

MAP_ROWS = 4  # services in one column of the map that still read from across a room


def dependency_depths(
    dependencies: Mapping[str, Sequence[str]], services: Sequence[str]
) -> dict[str, int]:
    """Longest call chain above each service: 0 for a service nobody calls.

    No chain is longer than the number of services, so a cycle in a hand-written graph
    ends the loop (with stretched depths) instead of hanging the wall."""
    names = set(services) | set(dependencies) | {c for cs in dependencies.values() for c in cs}
    depth = dict.fromkeys(sorted(names), 0)
    edges = [(a, b) for a, callees in dependencies.items() for b in callees if a != b]
    deepest = len(depth) - 1
    for _ in range(len(depth)):
        changed = False
        for caller, callee in edges:
            if depth[callee] <= depth[caller] < deepest:
                depth[callee], changed = depth[caller] + 1, True
        if not changed:
            break
    return depth


def map_layout(dependencies: Mapping[str, Sequence[str]], services: Sequence[str]) -> pd.DataFrame:
    """``service, x, y`` for the map: x is the dependency depth (callers left, callees
    right); within a column, services sit near the mean height of their callers (fewer
    crossing arrows), centred on 0, top first. Services that call nobody and that nobody
    calls stand apart to the right, :data:`MAP_ROWS` to a column, so an estate without a
    graph becomes a grid rather than one unreadable column."""
    depth = dependency_depths(dependencies, services)
    edges = [(a, b) for a, callees in dependencies.items() for b in callees if a != b]
    linked = {s for edge in edges for s in edge}
    columns: dict[int, list[str]] = {}
    for name in sorted(linked):
        columns.setdefault(depth[name], []).append(name)
    free = max(columns, default=-1) + 1
    for i, name in enumerate(sorted(set(depth) - linked)):
        columns.setdefault(free + i // MAP_ROWS, []).append(name)
    y: dict[str, float] = {}
    for x in sorted(columns):
        above = {s: [-y[a] for a, b in edges if b == s and a in y] for s in columns[x]}
        names = sorted(columns[x], key=lambda s: (np.mean(above[s]) if above[s] else 0.0, s))
        y.update({name: (len(names) - 1) / 2 - rank for rank, name in enumerate(names)})
    rows = [(s, float(x), y[s]) for x, names in columns.items() for s in names]
    return pd.DataFrame(rows, columns=["service", "x", "y"]).sort_values(
        ["x", "y"], ascending=[True, False], ignore_index=True
    )
