"""What people do to alerts: acknowledge (who, when, why) and resolve by hand.

Both are recorded as an ``alert_events`` row with the person as actor, which the
evaluator never rewrites. A hand-resolved episode stays resolved while its condition
lasts (the evaluator skips it); if the condition clears and comes back, that is a new
episode and alerts again.
"""

from __future__ import annotations

from vigil.audit import record
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.store import Store

OPEN_STATES = ("pending", "firing")
MAX_COMMENT = 2000


def _open_alert(store: Store, alert_id: str, who: str, comment: str) -> str:
    """The alert's state if it may be acted on; VigilError naming the problem otherwise."""
    if not who.strip():
        raise VigilError("say who you are (--author)")
    if len(comment) > MAX_COMMENT:
        raise VigilError(f"the comment is longer than {MAX_COMMENT} characters")
    state = store.one("SELECT state FROM alerts WHERE alert_id = ?", [alert_id])
    if state is None:
        raise VigilError(f"no alert {alert_id!r}")
    if state not in OPEN_STATES:
        raise VigilError(f"alert {alert_id} is {state}; only pending or firing alerts can be")
    return str(state)


def acknowledge_alert(store: Store, alert_id: str, who: str, comment: str = "") -> None:
    """Mark an open alert as being handled by ``who``; it keeps firing."""
    _act(store, alert_id, who, comment, "acknowledged",
         "acknowledged_by = ?, acknowledged_at = ?, ack_comment = ?", [comment])  # fmt: skip


def resolve_alert(store: Store, alert_id: str, who: str, comment: str = "") -> None:
    """Close an open alert by hand; it stays closed until its condition clears and returns."""
    _act(store, alert_id, who, comment, "resolved",
         "resolved_by = ?, resolved_at = ?, state = 'resolved'", [])  # fmt: skip


def _act(
    store: Store, alert_id: str, who: str, comment: str, event: str, updates: str,
    extra: list[object],
) -> None:  # fmt: skip
    """Apply ``updates`` (who, when, then ``extra``) and record ``event`` by ``who``."""
    state = _open_alert(store, alert_id, who, comment)
    now = utc_now().to_pydatetime()
    with store.transaction() as cur:
        cur.execute(f"UPDATE alerts SET {updates} WHERE alert_id = ?",
                    [who.strip(), now, *extra, alert_id])  # fmt: skip
        cur.execute(
            "INSERT INTO alert_events (alert_id, ts, from_state, to_state, actor, comment) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [alert_id, now, state, event, who.strip(), comment],
        )
        action = "alert.acknowledge" if event == "acknowledged" else "alert.resolve"
        record(cur, who.strip(), action, alert_id, {"state": state},
               {"state": event, "comment": comment})  # fmt: skip


def act_on_alert(store: Store, action: str, alert_id: str, who: str, comment: str = "") -> None:
    """``acknowledge`` or ``resolve``, by name (the CLI and the engine's HTTP port)."""
    actions = {"acknowledge": acknowledge_alert, "resolve": resolve_alert}
    if action not in actions:
        raise VigilError(f"unknown alert action {action!r}; use acknowledge or resolve")
    actions[action](store, alert_id, who, comment)
