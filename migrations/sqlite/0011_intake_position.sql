-- How far the main inbox has read the intake journal (a second SQLite file the webhooks
-- write to), and up to which arrival time it holds every journal row. One row, written
-- in the same transaction as the rows it moves.
CREATE TABLE intake_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    horizon_ms INTEGER NOT NULL
);
