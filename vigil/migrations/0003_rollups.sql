-- 5-minute rollups: what long-range charts read and what outlives raw retention.
-- A bucket covers [bucket, bucket + 5 minutes); count is the number of non-null values.
CREATE TABLE samples_5m (
    series_id BIGINT NOT NULL,
    bucket    TIMESTAMP NOT NULL,          -- UTC, naive, start of the bucket
    min       DOUBLE,
    max       DOUBLE,
    mean      DOUBLE,
    count     BIGINT NOT NULL,
    PRIMARY KEY (series_id, bucket)
);
