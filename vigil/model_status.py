"""What the Models page reads: each series' detector, its history of fits, and how it did.

A series' *current* model is the one ``baselines`` points at, the one evaluation uses. Its
newest *attempt* may be younger and may have failed; then the page says so and shows
which version is still in use. Quality figures come from the fit itself: the residual's
robust sigma and the share of its own training history the model would have alerted on.
"""

from __future__ import annotations

import json

import pandas as pd

from vigil.store import Store

MODEL_STATES = ("ok", "failed", "none")

_OVERVIEW = """
WITH attempts AS (
    SELECT series_id, max(version) AS versions, arg_max(status, version) AS last_status,
           arg_max(error, version) AS last_error, max(trained_at) AS last_attempt
    FROM models GROUP BY series_id
)
SELECT s.series_id, s.series_key, s.metric, s.service, m.model_id, m.kind, m.version,
       m.trained_at, m.train_from, m.train_to, m.params, m.quality,
       coalesce(a.versions, 0) AS versions, a.last_status, a.last_error, a.last_attempt
FROM series s
LEFT JOIN baselines b USING (series_id)
LEFT JOIN models m ON m.model_id = b.model_id
LEFT JOIN attempts a ON a.series_id = s.series_id
ORDER BY s.series_key
"""


def _json_column(values: pd.Series, key: str) -> pd.Series:
    parsed = values.map(lambda text: json.loads(text) if isinstance(text, str) else {})
    return parsed.map(lambda d: d.get(key))


def model_overview(store: Store) -> pd.DataFrame:
    """One row per series: its current model, quality figures and the newest attempt.

    ``state`` is ``ok`` (the newest fit is in use), ``failed`` (the newest fit failed; the
    previous model, if any, is still used) or ``none`` (never fitted).
    """
    frame = store.df(_OVERVIEW)
    frame["state"] = "none"
    frame.loc[frame["last_status"] == "ok", "state"] = "ok"
    frame.loc[frame["last_status"] == "failed", "state"] = "failed"
    frame["period_minutes"] = _json_column(frame["params"], "period_minutes")
    frame["residual_sigma"] = pd.to_numeric(
        _json_column(frame["quality"], "residual_sigma"), errors="coerce"
    )
    frame["training_alert_share"] = pd.to_numeric(
        _json_column(frame["quality"], "training_alert_share"), errors="coerce"
    )
    frame["training_points"] = pd.to_numeric(
        _json_column(frame["quality"], "training_points"), errors="coerce"
    )
    return frame.drop(columns=["params", "quality"])


def model_history(store: Store, series_id: int) -> pd.DataFrame:
    """Every fit of one series, newest first, with parameters and quality as dicts."""
    frame = store.df(
        "SELECT m.model_id, m.version, m.status, m.trained_at, m.train_from, m.train_to, "
        "m.params, m.quality, m.error, (b.model_id IS NOT NULL) AS in_use "
        "FROM models m LEFT JOIN baselines b USING (model_id) "
        "WHERE m.series_id = ? ORDER BY m.version DESC",
        [series_id],
    )
    for column in ("params", "quality"):
        frame[column] = frame[column].map(lambda t: json.loads(t) if isinstance(t, str) else {})
    return frame


def state_counts(overview: pd.DataFrame) -> dict[str, int]:
    counts = overview["state"].value_counts()
    return {state: int(counts.get(state, 0)) for state in MODEL_STATES}
