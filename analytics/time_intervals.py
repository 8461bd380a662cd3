"""Alertmanager's time intervals: when a route is muted (``mute_time_intervals``) or
active (``active_time_intervals``).

A named interval holds one or more specs; it contains an instant when any spec does. A
spec holds when every field it gives holds, each read in the spec's ``location``: a
``times`` range (start inclusive, end exclusive, ``24:00`` the end of the day), weekdays
(``monday:friday``), days of the month (``1:5``; negative counts from the month's end,
``-1`` is the last day), months (``1:3``, ``may``) and years (``2026:2027``). Ranges are
inclusive, as in Alertmanager.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")  # fmt: skip


@dataclass(frozen=True)
class IntervalSpec:
    times: tuple[tuple[int, int], ...] = ()  # minutes of the day, [start, end)
    weekdays: tuple[tuple[int, int], ...] = ()  # 0 = Monday
    days_of_month: tuple[tuple[int, int], ...] = ()
    months: tuple[tuple[int, int], ...] = ()  # 1 = January
    years: tuple[tuple[int, int], ...] = ()
    location: str = "UTC"

    def contains(self, at: pd.Timestamp) -> bool:
        local = at.tz_localize("UTC") if at.tzinfo is None else at
        local = local.tz_convert(ZoneInfo(self.location))
        minute = local.hour * 60 + local.minute
        if self.times and not any(start <= minute < end for start, end in self.times):
            return False
        if self.weekdays and not _within(local.dayofweek, self.weekdays):
            return False
        if self.days_of_month and not any(
            _day_within(local.day, local.days_in_month, r) for r in self.days_of_month
        ):
            return False
        if self.months and not _within(local.month, self.months):
            return False
        return not self.years or _within(local.year, self.years)


def _within(value: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(low <= value <= high for low, high in ranges)


def _day_within(day: int, days_in_month: int, bounds: tuple[int, int]) -> bool:
    low, high = (b if b > 0 else days_in_month + 1 + b for b in bounds)
    return low <= day <= high


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _range(text: str, names: Sequence[str] = (), offset: int = 0) -> tuple[int, int]:
    """``a`` or ``a:b``, each a number or (for weekdays and months) a name."""

    def one(part: str) -> int:
        part = part.strip().lower()
        if part in names:
            return names.index(part) + offset
        try:
            return int(part)
        except ValueError:
            raise ValueError(f"{text!r}: {part!r} is not a number or a known name") from None

    low, _, high = str(text).partition(":")
    start, end = one(low), one(high or low)
    if start > end and not (start < 0 < end):
        raise ValueError(f"{text!r}: the range ends before it starts")
    return start, end


def parse_spec(spec: Mapping[str, object]) -> IntervalSpec:
    """An interval spec from its settings form; ValueError naming what is wrong."""
    location = str(spec.get("location") or "UTC")
    try:
        ZoneInfo(location)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {location!r}") from None
    times = []
    for item in spec.get("times") or ():
        start, end = _minutes(item["start_time"]), _minutes(item["end_time"])
        if start >= end:
            raise ValueError(f"time range {item['start_time']}–{item['end_time']} is empty")
        times.append((start, end))
    days = tuple(_range(d) for d in spec.get("days_of_month") or ())
    if any(d == 0 or not -31 <= d <= 31 for pair in days for d in pair):
        raise ValueError("days_of_month must lie in 1..31 or -31..-1")
    weekdays = tuple(_range(w, WEEKDAYS) for w in spec.get("weekdays") or ())
    months = tuple(_range(m, MONTHS, offset=1) for m in spec.get("months") or ())
    if any(not 0 <= d <= 6 for pair in weekdays for d in pair):
        raise ValueError("weekdays must be names (monday … sunday)")
    if any(not 1 <= m <= 12 for pair in months for m in pair):
        raise ValueError("months must lie in 1..12 or be names")
    years = tuple(_range(y) for y in spec.get("years") or ())
    return IntervalSpec(tuple(times), weekdays, days, months, years, location)


def in_any(specs: Sequence[IntervalSpec], at: pd.Timestamp) -> bool:
    return any(spec.contains(at) for spec in specs)
