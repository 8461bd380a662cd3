-- Core time-series, model and alert tables.
CREATE SEQUENCE IF NOT EXISTS series_id_seq START 1;
CREATE TABLE series (
    series_id   BIGINT PRIMARY KEY DEFAULT nextval('series_id_seq'),
    series_key  VARCHAR NOT NULL UNIQUE,   -- metric{k="v",...}, labels sorted
    metric      VARCHAR NOT NULL,
    labels      VARCHAR NOT NULL,          -- JSON object of labels, keys sorted
    source      VARCHAR NOT NULL,
    unit        VARCHAR,
    service     VARCHAR,
    host        VARCHAR,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE samples (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMP NOT NULL,          -- UTC, naive
    value     DOUBLE,
    PRIMARY KEY (series_id, ts)
);
CREATE TABLE watermarks (
    source VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    ts     TIMESTAMP NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE SEQUENCE IF NOT EXISTS model_id_seq START 1;
CREATE TABLE models (
    model_id      BIGINT PRIMARY KEY DEFAULT nextval('model_id_seq'),
    series_id     BIGINT NOT NULL,
    kind          VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    status        VARCHAR NOT NULL,        -- ok | failed
    trained_at    TIMESTAMP NOT NULL,
    train_from    TIMESTAMP,
    train_to      TIMESTAMP,
    params        VARCHAR,                 -- JSON
    quality       VARCHAR,                 -- JSON
    artifact_path VARCHAR,
    error         VARCHAR
);
CREATE TABLE baselines (
    series_id  BIGINT PRIMARY KEY,
    model_id   BIGINT NOT NULL,            -- the model evaluation uses
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE scores (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMP NOT NULL,
    expected  DOUBLE,
    lower     DOUBLE,
    upper     DOUBLE,
    score     DOUBLE,
    PRIMARY KEY (series_id, ts)
);
CREATE TABLE rules (
    rule_id         VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    severity        VARCHAR NOT NULL,
    spec            VARCHAR NOT NULL,      -- JSON of the rule as written
    current_version INTEGER NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    updated_by      VARCHAR NOT NULL
);
CREATE TABLE rule_versions (
    rule_id    VARCHAR NOT NULL,
    version    INTEGER NOT NULL,
    spec       VARCHAR NOT NULL,
    author     VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    diff       VARCHAR,
    PRIMARY KEY (rule_id, version)
);
-- One row per alert episode (fingerprint + when it became active), so history
-- stays queryable; the current state of a fingerprint is its latest episode.
CREATE TABLE alerts (
    alert_id        VARCHAR PRIMARY KEY,
    fingerprint     VARCHAR NOT NULL,
    rule_id         VARCHAR NOT NULL,
    series_id       BIGINT,
    labels          VARCHAR NOT NULL,      -- JSON
    annotations     VARCHAR NOT NULL,      -- JSON
    severity        VARCHAR NOT NULL,
    service         VARCHAR,
    group_key       VARCHAR,
    state           VARCHAR NOT NULL,      -- pending | firing | resolved
    active_at       TIMESTAMP NOT NULL,
    fired_at        TIMESTAMP,
    resolved_at     TIMESTAMP,
    last_eval_at    TIMESTAMP NOT NULL,
    value           DOUBLE,
    acknowledged_by VARCHAR,
    acknowledged_at TIMESTAMP,
    ack_comment     VARCHAR
);
CREATE SEQUENCE IF NOT EXISTS alert_event_id_seq START 1;
CREATE TABLE alert_events (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('alert_event_id_seq'),
    alert_id    VARCHAR NOT NULL,
    ts          TIMESTAMP NOT NULL,
    from_state  VARCHAR,
    to_state    VARCHAR NOT NULL,
    value       DOUBLE,
    actor       VARCHAR NOT NULL DEFAULT 'evaluator',
    comment     VARCHAR
);
CREATE TABLE incidents (
    incident_id       VARCHAR PRIMARY KEY,
    origin            VARCHAR NOT NULL,    -- demo | user
    kind              VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    service           VARCHAR,             -- root-cause service
    series_keys       VARCHAR NOT NULL,    -- JSON list of root-cause series keys
    affected_services VARCHAR NOT NULL,    -- JSON list
    started_at        TIMESTAMP NOT NULL,
    ended_at          TIMESTAMP,
    cause             VARCHAR,
    fix               VARCHAR,
    created_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS job_run_id_seq START 1;
CREATE TABLE job_runs (
    run_id     BIGINT PRIMARY KEY DEFAULT nextval('job_run_id_seq'),
    job        VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP,
    status     VARCHAR NOT NULL,           -- running | ok | failed
    rows       BIGINT,
    error      VARCHAR
);
CREATE TABLE source_health (
    source         VARCHAR PRIMARY KEY,
    last_success   TIMESTAMP,
    last_error_at  TIMESTAMP,
    last_error     VARCHAR,
    newest_sample  TIMESTAMP,
    series_count   BIGINT,
    updated_at     TIMESTAMP NOT NULL
);
