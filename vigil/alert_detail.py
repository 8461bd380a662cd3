"""One alert as its page shows it: the alert, its transitions, and every notification
that carried it with each attempt to deliver that notification."""

from __future__ import annotations

from typing import Any

from vigil.alert_list import list_alerts
from vigil.notification_log import list_notifications
from vigil.store import Store


def alert_detail(store: Store, alert_id: str) -> dict[str, Any] | None:
    """None when there is no such alert."""
    found = [a for a in list_alerts(store) if a["alert_id"] == alert_id]
    if not found:
        return None
    events = store.df(
        "SELECT ts, from_state, to_state, actor, comment FROM alert_events "
        "WHERE alert_id = ? ORDER BY ts, event_id",
        [alert_id],
    )
    return {
        "alert": found[0],
        "events": events,
        "notifications": list_notifications(store, [], alert_id=alert_id),
    }
