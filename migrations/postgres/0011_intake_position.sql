-- The SQLite intake journal's read position. Postgres writes webhooks straight into the
-- inbox and never uses this table; it exists so both backends share one schema version.
CREATE TABLE intake_position (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    horizon_ms BIGINT NOT NULL
);
