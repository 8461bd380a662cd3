-- The assistant. One llm_usage row per language-model request (mode 'llm') and per answer
-- given without one (mode 'evidence', no tokens), so the daily token budget and the
-- per-minute rate limit are counted from the database and hold across restarts and
-- processes. outcome: ok | error | timeout | rate_limit | auth | server, and for evidence
-- answers why no model was asked: unconfigured | budget | rate_limit | failed.
CREATE TABLE llm_usage (
    ts                TIMESTAMP NOT NULL,
    session_id        VARCHAR,
    username          VARCHAR,
    model             VARCHAR,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cost              DOUBLE NOT NULL DEFAULT 0,
    estimated         BOOLEAN NOT NULL DEFAULT FALSE,  -- the server sent no usage
    mode              VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL
);
-- Every tool call the model asked for, run or refused (an unknown tool, bad arguments), so
-- a model that tries something outside the read-only registry leaves a trace.
CREATE TABLE llm_tool_calls (
    ts         TIMESTAMP NOT NULL,
    session_id VARCHAR,
    tool       VARCHAR NOT NULL,
    arguments  VARCHAR,
    outcome    VARCHAR NOT NULL                -- ok | error | refused
);
-- How each assistant message was made (llm | evidence, and why) and what it cost (JSON).
ALTER TABLE chat_messages ADD COLUMN mode VARCHAR;
ALTER TABLE chat_messages ADD COLUMN reason VARCHAR;
ALTER TABLE chat_messages ADD COLUMN usage VARCHAR;
