-- Operational tables: silences, notification outbox, users, audit, chat.
CREATE TABLE silences (
    silence_id VARCHAR PRIMARY KEY,
    matchers   VARCHAR NOT NULL,           -- JSON list of {name, value, op}
    starts_at  TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    comment    VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE notifications (
    notification_id VARCHAR PRIMARY KEY,   -- stable key receivers can dedupe on
    alert_id        VARCHAR,
    channel         VARCHAR NOT NULL,
    payload         VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,      -- pending | sent | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    sent_at         TIMESTAMP
);
CREATE TABLE users (
    username      VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS audit_id_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    ts       TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor    VARCHAR NOT NULL,
    action   VARCHAR NOT NULL,
    target   VARCHAR,
    before   VARCHAR,
    after    VARCHAR
);
CREATE TABLE chat_sessions (
    session_id VARCHAR PRIMARY KEY,
    username   VARCHAR,
    title      VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS chat_message_id_seq START 1;
CREATE TABLE chat_messages (
    message_id BIGINT PRIMARY KEY DEFAULT nextval('chat_message_id_seq'),
    session_id VARCHAR NOT NULL,
    ts         TIMESTAMP NOT NULL DEFAULT current_timestamp,
    role       VARCHAR NOT NULL,
    content    VARCHAR NOT NULL,
    citations  VARCHAR
);
