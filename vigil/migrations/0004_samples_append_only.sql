-- Samples without a primary key. DuckDB keeps a primary key's ART index in memory and
-- updates it on every insert: it grew with every sample kept and made the index, not the
-- data, the cost of ingest. Idempotence now comes from ingest itself, which anti-joins a
-- batch against the stored samples in the batch's time range (zone maps prune the scan),
-- under the store's single-writer ingest lock.
CREATE TABLE samples_append_only (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMP NOT NULL,          -- UTC, naive
    value     DOUBLE
);
INSERT INTO samples_append_only SELECT series_id, ts, value FROM samples ORDER BY ts, series_id;
DROP TABLE samples;
ALTER TABLE samples_append_only RENAME TO samples;
