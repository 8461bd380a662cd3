from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.grouping import group_alerts

T0 = pd.Timestamp("2024-03-01")


def alerts(rows: list[tuple[str | None, float, float | None]]) -> pd.DataFrame:
    """(service, fired minute, resolved minute or None) per alert."""
    return pd.DataFrame(
        {
            "service": [r[0] for r in rows],
            "fired_at": [T0 + pd.Timedelta(minutes=r[1]) for r in rows],
            "resolved_at": [
                pd.NaT if r[2] is None else T0 + pd.Timedelta(minutes=r[2]) for r in rows
            ],
        }
    )


def groups(rows: list[tuple[str | None, float, float | None]], interval_min: float = 30) -> list:
    ids = group_alerts(
        alerts(rows), group_by=("service",), group_interval_seconds=int(interval_min * 60)
    )
    return list(ids)


def test_overlapping_alerts_of_one_service_form_one_group() -> None:
    assert groups([("a", 0, 10), ("a", 5, 20)]) == [0, 0]


def test_gap_shorter_than_group_interval_joins_longer_splits() -> None:
    assert groups([("a", 0, 10), ("a", 39, 50)]) == [0, 0]
    assert groups([("a", 0, 10), ("a", 40, 50)]) == [0, 1]


def test_grouping_is_transitive_through_a_long_alert() -> None:
    rows = [("a", 0, 100), ("a", 10, 15), ("a", 120, 130), ("a", 200, 210)]
    assert groups(rows) == [0, 0, 0, 1]


def test_still_firing_alert_absorbs_everything_after_it() -> None:
    assert groups([("a", 0, None), ("a", 500, 510), ("a", 1000, 1001)]) == [0, 0, 0]


def test_different_services_never_share_a_group() -> None:
    assert groups([("a", 0, 10), ("b", 0, 10), ("a", 5, 6)]) == [0, 1, 0]


def test_missing_service_is_its_own_key() -> None:
    assert groups([(None, 0, 10), ("", 5, 10), ("a", 5, 10)]) == [0, 0, 1]


def test_ids_follow_group_start_and_input_order_is_kept() -> None:
    rows = [("b", 100, 110), ("a", 0, 10), ("b", 0, 5), ("a", 200, 210)]
    assert groups(rows) == [2, 0, 1, 3]


def test_index_of_input_is_irrelevant() -> None:
    frame = alerts([("a", 0, 10), ("a", 5, 8)]).set_axis([10, 3])
    assert list(group_alerts(frame, group_by=("service",), group_interval_seconds=0)) == [0, 0]


def test_several_group_by_columns() -> None:
    frame = alerts([("a", 0, 10), ("a", 1, 10), ("a", 2, 10)]).assign(rule_id=["x", "y", "x"])
    ids = group_alerts(frame, group_by=("service", "rule_id"), group_interval_seconds=60)
    assert list(ids) == [0, 1, 0]


def test_empty_group_by_groups_by_time_only() -> None:
    frame = alerts([("a", 0, 10), ("b", 5, 10), ("c", 100, 110)])
    assert list(group_alerts(frame, group_by=(), group_interval_seconds=60)) == [0, 0, 1]


def test_no_alerts() -> None:
    empty = alerts([])
    out = group_alerts(empty, group_by=("service",), group_interval_seconds=60)
    assert out.shape == (0,)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.integers(0, 300),
            st.one_of(st.none(), st.integers(0, 60)),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 60),
)
def test_groups_match_pairwise_closeness_closure(rows: list, interval: int) -> None:
    spec = [(s, f, None if d is None else f + d) for s, f, d in rows]
    ids = np.array(groups(spec, interval_min=interval))
    # Reference: union-find over pairs that overlap or are closer than the interval.
    parent = list(range(len(spec)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (si, fi, ri) in enumerate(spec):
        for j, (sj, fj, rj) in enumerate(spec):
            ei, ej = (np.inf if ri is None else ri), (np.inf if rj is None else rj)
            gap = max(fi, fj) - min(ei, ej)
            if (si or "") == (sj or "") and (gap <= 0 or gap < interval):
                parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(spec))]
    for i in range(len(spec)):
        for j in range(len(spec)):
            assert (ids[i] == ids[j]) == (roots[i] == roots[j])
