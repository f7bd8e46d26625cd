-- Running orders from the console (issue 15 §4): what a fulfilment told the buyer, and
-- each order's history of staff changes and state moves, written in the transaction that
-- makes the change.
ALTER TABLE orders ADD COLUMN tracking_number TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN fulfilled_at_ms INTEGER;

-- kind: paid, fulfilled, cancelled, expired or line_changed. actor: the console user's
-- or API token's name ('' for the service itself). detail: a short text for staff, such
-- as `A01-BLK-M 3 → 1`; never a phone or an address.
CREATE TABLE order_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    at_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    actor    TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX order_history_order ON order_history (order_id, id);

-- The orders page's "receipt waiting for a check": unpaid orders with a receipt.
CREATE INDEX orders_pending ON orders (id) WHERE status = 'pending_payment';
