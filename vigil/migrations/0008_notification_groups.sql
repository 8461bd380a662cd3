-- Alertmanager-style aggregation groups and their notification log: when each group is
-- checked next and what its last notification listed, so grouping and dedup survive a
-- restart. Notifications say which group (and which check of it) they come from.
CREATE TABLE notification_groups (
    receiver          VARCHAR NOT NULL,
    group_key         VARCHAR NOT NULL,
    group_labels      VARCHAR NOT NULL,     -- JSON
    created_at        TIMESTAMP NOT NULL,
    next_check_at     TIMESTAMP NOT NULL,
    last_check_at     TIMESTAMP,
    last_notified_at  TIMESTAMP,
    notified_firing   VARCHAR NOT NULL,     -- JSON list of fingerprints
    notified_resolved VARCHAR NOT NULL,     -- JSON list of fingerprints
    sequence          INTEGER NOT NULL,
    active            BOOLEAN NOT NULL,
    PRIMARY KEY (receiver, group_key)
);
ALTER TABLE notifications ADD COLUMN group_key VARCHAR;
