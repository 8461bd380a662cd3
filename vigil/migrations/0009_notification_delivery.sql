-- Delivery of the outbox: groups belong to a route of the routing tree, notifications
-- list every alert they carry, and every attempt to send one is kept with its outcome.
-- An attempt is written as 'sending' before the request goes out, so one cut short by a
-- killed process is seen (and its notification sent again) after the restart.
ALTER TABLE notification_groups ADD COLUMN route_key VARCHAR;
ALTER TABLE notifications ADD COLUMN alert_ids VARCHAR;      -- JSON list
CREATE SEQUENCE IF NOT EXISTS notification_attempt_id_seq START 1;
CREATE TABLE notification_attempts (
    attempt_id      BIGINT PRIMARY KEY DEFAULT nextval('notification_attempt_id_seq'),
    notification_id VARCHAR NOT NULL,
    attempt         INTEGER NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    ended_at        TIMESTAMP,
    outcome         VARCHAR NOT NULL,      -- sending | sent | retry | dead | interrupted
    status_code     INTEGER,
    detail          VARCHAR
);
