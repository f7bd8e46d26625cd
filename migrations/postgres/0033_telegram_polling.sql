-- Long polling of the Bot API (telegram.mode = "polling"). One row: the next update id to
-- ask for, written in the transaction that stores the updates before it (so a restart
-- neither loses nor repeats one), and the replica that polls, under a lease.
CREATE TABLE telegram_polling (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    next_update_id BIGINT  NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until_ms BIGINT  NOT NULL DEFAULT 0
);
INSERT INTO telegram_polling (id) VALUES (1);
