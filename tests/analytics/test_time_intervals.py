"""Time intervals read as Alertmanager's: every field of a spec must hold, ranges are
inclusive, times end-exclusive, in the spec's own time zone."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.time_intervals import in_any, parse_spec


def _holds(spec: dict, at: str) -> bool:
    return parse_spec(spec).contains(pd.Timestamp(at))


def test_times_start_inclusive_end_exclusive_and_24_is_midnight() -> None:
    spec = {"times": [{"start_time": "09:00", "end_time": "17:00"}]}
    assert _holds(spec, "2026-12-01 09:00") and _holds(spec, "2026-12-01 16:59")
    assert not _holds(spec, "2026-12-01 17:00") and not _holds(spec, "2026-12-01 08:59")
    assert _holds({"times": [{"start_time": "22:00", "end_time": "24:00"}]}, "2026-12-01 23:59")


def test_fields_are_read_in_the_specs_time_zone() -> None:
    spec = {"times": [{"start_time": "09:00", "end_time": "18:00"}],
            "weekdays": ["monday:friday"], "location": "Asia/Shanghai"}  # fmt: skip
    assert _holds(spec, "2026-12-04 09:30")  # Friday 17:30 in Shanghai
    assert not _holds(spec, "2026-12-04 10:30")  # Friday 18:30 there
    assert not _holds(spec, "2026-12-05 02:00")  # Saturday 10:00 there


def test_negative_days_count_from_the_end_of_the_month() -> None:
    last_two = {"days_of_month": ["-2:-1"]}
    assert _holds(last_two, "2026-02-27 12:00") and _holds(last_two, "2026-02-28 12:00")
    assert not _holds(last_two, "2026-02-26 12:00")
    assert _holds(last_two, "2026-12-31 00:00") and not _holds(last_two, "2026-12-29 00:00")


def test_months_by_name_or_number_and_years() -> None:
    assert _holds({"months": ["december"]}, "2026-12-01")
    assert _holds({"months": ["1:3", "may"]}, "2026-05-10")
    assert not _holds({"months": ["1:3"]}, "2026-04-01")
    assert _holds({"years": ["2025:2026"]}, "2026-06-01")
    assert not _holds({"years": ["2027"]}, "2026-06-01")


def test_every_given_field_must_hold_and_any_spec_may() -> None:
    weekend = parse_spec({"weekdays": ["saturday", "sunday"]})
    christmas = parse_spec({"months": ["12"], "days_of_month": ["25"]})
    assert in_any([weekend, christmas], pd.Timestamp("2026-12-25 10:00"))  # a Friday
    assert in_any([weekend, christmas], pd.Timestamp("2026-12-26 10:00"))
    assert not in_any([weekend, christmas], pd.Timestamp("2026-12-24 10:00"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"weekdays": ["funday"]}, "not a number or a known name"),
        ({"weekdays": ["friday:monday"]}, "ends before it starts"),
        ({"days_of_month": ["0"]}, "1..31"),
        ({"months": ["13"]}, "1..12"),
        ({"location": "Mars/Olympus"}, "unknown time zone"),
        ({"times": [{"start_time": "18:00", "end_time": "09:00"}]}, "is empty"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)
