-- Who changed what, when: one row per staff or owner change made through the API or
-- the console. Review decisions also keep their decider on the inbox row.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    -- The token's name or the console user's username, and the role it acted with.
    actor    TEXT    NOT NULL,
    role     TEXT    NOT NULL,
    user_id  INTEGER,
    -- The method and route template, e.g. `POST /api/v1/events/{id}/review`.
    action   TEXT    NOT NULL,
    -- The path the change was made on, e.g. `/api/v1/events/42/review`.
    target   TEXT    NOT NULL,
    status   INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);

ALTER TABLE inbox ADD COLUMN decided_by TEXT;
