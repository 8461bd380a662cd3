"""Which view a wall shows now: a pure function of the clock, so every TV on the same
playlist shows the same view at the same moment and nothing is kept between refreshes;
``?view=`` pins one and ``?scale=`` enlarges the charts for a 4K TV."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vigil.settings import WALL_VIEWS


def view_at(now: pd.Timestamp, views: Sequence[str], rotate_seconds: int) -> str:
    """The playlist's view at ``now``: slot ``floor(epoch seconds / rotate)`` modulo the
    playlist length. Every TV agrees without talking to the others; 0 means no rotation."""
    if rotate_seconds <= 0 or len(views) == 1:
        return views[0]
    epoch_seconds = pd.Timestamp(now).value // 1_000_000_000
    return views[(epoch_seconds // rotate_seconds) % len(views)]


def chart_scale(param: str | None) -> float:
    """``?scale=2`` draws the wall's charts twice as large, for a 4K TV whose browser
    renders at 100 % (the HTML grows with the screen by itself; plotly counts pixels).
    Anything unreadable is 1; the range is 1 to 4."""
    try:
        value = float(param) if param else 1.0
    except ValueError:
        return 1.0
    return min(max(value, 1.0), 4.0) if np.isfinite(value) else 1.0


def pinned_view(param: str | None) -> str | None:
    """The view ``?view=NAME`` pins (a wall that must always show the map); else None."""
    name = (param or "").strip().lower()
    return name if name in WALL_VIEWS else None


def current_view(
    now: pd.Timestamp, views: Sequence[str], rotate_seconds: int, pinned: str | None,
    rotate: bool,
) -> str:  # fmt: skip
    """A pin wins; a kiosk TV follows the clock; a desk shows the first view until asked."""
    if pinned is not None:
        return pinned
    return view_at(now, views, rotate_seconds) if rotate else views[0]
