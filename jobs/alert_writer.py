"""Storing evaluated alert episodes so that re-evaluating a window is idempotent.

Episodes are keyed by fingerprint and start; an episode that was already open before
the evaluated window is continued (same id, start and acknowledgement) rather than
duplicated. Transitions written by the evaluator are regenerated from the episodes;
transitions made by people (acknowledge, resolve) are never touched, and an episode a
person resolved is left resolved while the evaluator still sees its condition.
"""

from __future__ import annotations

import pandas as pd

from vigil.store import Store

# Alerts of the rules being written: Vigil's own (received alerts are never touched, even
# under a rule name that looks like theirs).
_OURS = "list_contains(?, rule_id) AND coalesce(source, 'vigil') = 'vigil'"

ALERT_COLUMNS = [
    "alert_id", "fingerprint", "rule_id", "series_id", "labels", "annotations", "severity",
    "service", "group_key", "state", "active_at", "fired_at", "resolved_at", "last_eval_at",
    "value",
]  # fmt: skip


def _continue_open(
    store: Store, computed: pd.DataFrame, grid_start: pd.Timestamp, rules: list[str]
) -> pd.DataFrame:
    """Give episodes that began before the window their stored identity."""
    open_before = store.df(
        f"""
        SELECT alert_id, fingerprint, active_at AS stored_active, fired_at AS stored_fired
        FROM alerts WHERE {_OURS} AND active_at < ?
          AND (resolved_at IS NULL OR resolved_at >= ?)
        """,
        [rules, grid_start.to_pydatetime(), grid_start.to_pydatetime()],
    )
    computed = computed.merge(open_before, on="fingerprint", how="left")
    continued = computed["stored_active"].notna() & (computed["active_at"] == grid_start)
    computed.loc[continued, "active_at"] = computed.loc[continued, "stored_active"]
    keep_fired = continued & computed["stored_fired"].notna()
    computed.loc[keep_fired, "fired_at"] = computed.loc[keep_fired, "stored_fired"]
    fresh_ids = computed["fingerprint"] + "-" + computed["active_at"].dt.strftime("%Y%m%dT%H%M%S")
    computed["alert_id"] = computed["alert_id"].where(continued, fresh_ids)
    return computed.drop(columns=["stored_active", "stored_fired"])


def _events(alerts: pd.DataFrame) -> pd.DataFrame:
    steps = [
        ("active_at", None, "pending"),
        ("fired_at", "pending", "firing"),
        ("resolved_at", "firing", "resolved"),
    ]
    frames = []
    for column, before, after in steps:
        part = alerts.loc[alerts[column].notna(), ["alert_id", column, "value"]]
        frames.append(part.rename(columns={column: "ts"}).assign(from_state=before, to_state=after))
    return pd.concat(frames, ignore_index=True)[
        ["alert_id", "ts", "from_state", "to_state", "value"]
    ]


def write_episodes(
    store: Store, computed: pd.DataFrame, grid_start: pd.Timestamp, rules: list[str]
) -> int:
    """Replace the evaluator's view of ``rules`` from ``grid_start`` on; returns episodes kept."""
    if computed.empty:
        computed = pd.DataFrame(columns=[c for c in ALERT_COLUMNS if c != "alert_id"])
    for column in ("active_at", "fired_at", "resolved_at", "last_eval_at"):
        computed[column] = pd.to_datetime(computed[column]).astype("datetime64[ns]")
    computed = _continue_open(store, computed, grid_start, rules)[ALERT_COLUMNS]
    closed_by_hand = {
        alert_id for (alert_id,) in store.cursor.execute(
            "SELECT alert_id FROM alerts "
            f"WHERE resolved_by IS NOT NULL AND {_OURS}", [rules],
        ).fetchall()
    }  # fmt: skip
    computed = computed[~computed["alert_id"].isin(closed_by_hand)].reset_index(drop=True)
    start = grid_start.to_pydatetime()
    with store.transaction() as cur:
        cur.register("computed", computed)
        # Open episodes from before the window that the window did not continue ended by then.
        cur.execute(
            f"""
            UPDATE alerts SET state = 'resolved', resolved_at = ?
            WHERE {_OURS} AND active_at < ? AND resolved_at IS NULL
              AND state = 'firing' AND alert_id NOT IN (SELECT alert_id FROM computed)
            """,
            [start, rules, start],
        )
        stale = f"""
            SELECT alert_id FROM alerts WHERE {_OURS} AND resolved_by IS NULL
              AND alert_id NOT IN (SELECT alert_id FROM computed)
              AND (active_at >= ? OR (state = 'pending' AND resolved_at IS NULL))
        """
        cur.execute(
            f"DELETE FROM alert_events WHERE actor = 'evaluator' AND alert_id IN ({stale})",
            [rules, start],
        )
        cur.execute(f"DELETE FROM alerts WHERE alert_id IN ({stale})", [rules, start])
        cur.execute(
            """
            INSERT INTO alerts (alert_id, fingerprint, rule_id, series_id, labels, annotations,
                severity, service, group_key, state, active_at, fired_at, resolved_at,
                last_eval_at, value)
            SELECT * FROM computed
            ON CONFLICT (alert_id) DO UPDATE SET state = excluded.state,
                fired_at = excluded.fired_at, resolved_at = excluded.resolved_at,
                last_eval_at = excluded.last_eval_at, value = excluded.value,
                annotations = excluded.annotations, labels = excluded.labels
            """
        )
        cur.execute(
            "DELETE FROM alert_events WHERE actor = 'evaluator' "
            "AND alert_id IN (SELECT alert_id FROM computed)"
        )
        cur.register("new_events", _events(computed))
        cur.execute(
            "INSERT INTO alert_events (alert_id, ts, from_state, to_state, value) "
            "SELECT alert_id, ts, from_state, to_state, value FROM new_events ORDER BY ts"
        )
        cur.unregister("new_events")
        cur.unregister("computed")
    return len(computed)
