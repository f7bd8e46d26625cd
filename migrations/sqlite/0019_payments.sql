-- Online payments keep every provider session an order opened (a buyer may press "pay"
-- more than once), and a payment that cannot simply mark its order paid becomes an
-- item for staff instead of a log line.
CREATE TABLE payment_sessions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    provider_session TEXT   NOT NULL UNIQUE,
    amount           INTEGER NOT NULL,
    currency         TEXT   NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    -- When the provider said this session was paid.
    paid_at_ms       INTEGER
);
CREATE INDEX payment_sessions_order ON payment_sessions (order_id);

INSERT INTO payment_sessions (order_id, provider_session, amount, currency, created_at_ms)
SELECT id, provider_session, total, currency, updated_at_ms FROM orders
WHERE provider_session IS NOT NULL;

CREATE TABLE payment_issues (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- unmatched: no order has the session; amount_mismatch: paid a different amount;
    -- after_close: the order had expired or been cancelled; paid_twice: a second
    -- session of an order already paid.
    kind             TEXT   NOT NULL CHECK (kind IN ('unmatched', 'amount_mismatch', 'after_close', 'paid_twice')),
    order_id         INTEGER REFERENCES orders (id),
    provider_session TEXT   NOT NULL,
    amount           INTEGER NOT NULL,
    currency         TEXT   NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    resolved_at_ms   INTEGER,
    resolved_by      TEXT,
    resolution_note  TEXT,
    -- A redelivered webhook finds the issue it already made.
    UNIQUE (provider_session, kind)
);
CREATE INDEX payment_issues_open ON payment_issues (id) WHERE resolved_at_ms IS NULL;
