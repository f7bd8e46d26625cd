-- Checkout: one open cart per member per live session, links into it, the orders carts
-- become, their lines (each line is one hold) and uploaded payment receipts.

-- A cart holds its member's active holds in its live session that no order has taken.
-- Once ordered it is closed; later holds in the same live open a new cart. When two
-- members merge, the merged one's open cart folds into the survivor's ('merged') and its
-- links open the survivor's cart.
CREATE TABLE carts (
    id            INTEGER PRIMARY KEY,
    member_id     INTEGER NOT NULL REFERENCES members (id),
    live_id       INTEGER NOT NULL REFERENCES live_sessions (id),
    status        TEXT    NOT NULL CHECK (status IN ('open', 'ordered', 'merged')),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX carts_open ON carts (member_id, live_id) WHERE status = 'open';

-- Checkout links. Only a SHA-256 of the token is kept.
CREATE TABLE checkout_tokens (
    token_hash    TEXT    PRIMARY KEY,
    cart_id       INTEGER NOT NULL REFERENCES carts (id),
    member_id     INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX checkout_tokens_cart ON checkout_tokens (cart_id);

-- UNIQUE (cart_id): two tabs confirming one cart make one order.
CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    cart_id             INTEGER NOT NULL UNIQUE REFERENCES carts (id),
    member_id           INTEGER NOT NULL REFERENCES members (id),
    live_id             INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('pending_payment', 'paid', 'fulfilled', 'cancelled', 'expired')),
    currency            TEXT    NOT NULL,
    total               INTEGER NOT NULL CHECK (total >= 0),
    contact_name        TEXT    NOT NULL,
    contact_phone       TEXT    NOT NULL,
    contact_email       TEXT    NOT NULL DEFAULT '',
    fulfilment          TEXT    NOT NULL CHECK (fulfilment IN ('delivery', 'pickup')),
    delivery_address    TEXT    NOT NULL DEFAULT '',
    pickup_store        TEXT    NOT NULL DEFAULT '',
    payment_method      TEXT    NOT NULL,
    payment_deadline_ms INTEGER NOT NULL,
    provider_session    TEXT,
    points_earned       INTEGER NOT NULL DEFAULT 0,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    paid_at_ms          INTEGER
);
CREATE INDEX orders_due ON orders (payment_deadline_ms) WHERE status = 'pending_payment';
CREATE INDEX orders_member ON orders (member_id);
CREATE INDEX orders_live ON orders (live_id);
CREATE UNIQUE INDEX orders_provider_session ON orders (provider_session);

CREATE TABLE order_lines (
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    hold_id    INTEGER NOT NULL UNIQUE REFERENCES holds (id),
    sku_id     INTEGER NOT NULL REFERENCES skus (id),
    sku        TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    options    TEXT    NOT NULL DEFAULT '[]',
    qty        INTEGER NOT NULL CHECK (qty > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, hold_id)
);

-- A buyer's proof of a manual payment (bank transfer, FPS, PayMe), for staff to check.
CREATE TABLE payment_receipts (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    content_type   TEXT    NOT NULL,
    bytes          BLOB    NOT NULL,
    uploaded_at_ms INTEGER NOT NULL
);
CREATE INDEX payment_receipts_order ON payment_receipts (order_id);

-- A hold taken for a comment that named no variant of a product with several: it sits on
-- a stand-in SKU until the buyer picks one on the checkout page.
ALTER TABLE holds ADD COLUMN choose_variant BOOLEAN NOT NULL DEFAULT FALSE;
