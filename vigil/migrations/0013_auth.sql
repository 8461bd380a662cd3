-- Login: failed attempts and lockout per user, browser sessions and wall tokens, both
-- stored only as SHA-256 hashes of the random token the browser or TV holds.
ALTER TABLE users ADD COLUMN failed_logins INTEGER DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP;
CREATE TABLE auth_sessions (
    token_hash   VARCHAR PRIMARY KEY,
    username     VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE TABLE wall_tokens (
    token_id   VARCHAR PRIMARY KEY,
    token_hash VARCHAR NOT NULL UNIQUE,
    label      VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
