"""Writing samples into the store: idempotent, vectorised, one short transaction per batch.

Re-pulling an overlapping window adds no rows: a batch is anti-joined on (series_id, ts)
against the samples already stored in its own time range, which zone maps keep to the few
row groups of that range, and a sample given twice in one batch is stored once. That
costs far less than a unique index (see migration 0004). Ingests take turns on the store's
ingest lock, so each one's check sees everything committed before it; new series get ids
in the same transaction.
``vigil_samples_ingested_total`` counts only the new samples, after they are committed.
"""

from __future__ import annotations

import json

import pandas as pd

from vigil.labels import labels_json
from vigil.metrics import SAMPLES_INGESTED
from vigil.sources.base import PullResult
from vigil.store import Store


def _catalog_frame(catalog: pd.DataFrame, source: str) -> pd.DataFrame:
    out = catalog.loc[:, ["series_key", "metric", "unit", "service", "host"]].copy()
    out["labels"] = [labels_json(labels) for labels in catalog["labels"]]
    out["source"] = source
    return out.drop_duplicates("series_key")


def ingest(store: Store, source: str, result: PullResult) -> int:
    """Store a pull's catalog, samples and incidents; returns the number of new samples."""
    catalog = _catalog_frame(result.catalog, source)
    samples = result.samples.loc[:, ["series_key", "ts", "value"]]
    with store.ingest_lock, store.transaction() as cur:
        cur.register("incoming_catalog", catalog)
        cur.execute(
            """
            INSERT INTO series (series_key, metric, labels, source, unit, service, host)
            SELECT c.series_key, c.metric, c.labels, c.source, c.unit, c.service, c.host
            FROM incoming_catalog c
            WHERE NOT EXISTS (SELECT 1 FROM series s WHERE s.series_key = c.series_key)
            ORDER BY c.series_key
            """
        )
        cur.unregister("incoming_catalog")
        cur.register("incoming_samples", samples)
        added = cur.execute(
            """
            INSERT INTO samples
            WITH incoming AS (
                SELECT s.series_id, i.ts, i.value
                FROM incoming_samples i JOIN series s USING (series_key)
            ),
            span AS (SELECT min(ts) AS lo, max(ts) AS hi FROM incoming),
            stored AS (
                SELECT series_id, ts FROM samples, span WHERE ts BETWEEN lo AND hi
            )
            SELECT DISTINCT ON (series_id, ts) series_id, ts, value
            FROM incoming ANTI JOIN stored USING (series_id, ts)
            """
        ).fetchall()[0][0]
        cur.unregister("incoming_samples")
        for inc in result.incidents:
            cur.execute(
                """
                INSERT OR REPLACE INTO incidents (incident_id, origin, kind, title, service,
                    series_keys, affected_services, started_at, ended_at, cause, fix)
                VALUES (?, 'demo', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    inc.incident_id,
                    inc.kind,
                    inc.title,
                    inc.service,
                    json.dumps(list(inc.series_keys)),
                    json.dumps(list(inc.affected_services)),
                    inc.start.to_pydatetime(),
                    inc.end.to_pydatetime(),
                    inc.cause or None,
                    inc.fix or None,
                ],
            )
    SAMPLES_INGESTED.labels(source).inc(int(added))
    return int(added)
