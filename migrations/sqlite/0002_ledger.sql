-- The shared stock ledger: catalogue, levels, the append-only movement log, holds,
-- the waitlist, idempotency keys and the events replies announce.

-- Members are filled in by the members room; the ledger needs the block flag.
CREATE TABLE members (
    id             INTEGER PRIMARY KEY,
    display_name   TEXT    NOT NULL DEFAULT '',
    blocked_reason TEXT,
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE products (
    id            INTEGER PRIMARY KEY,
    code          TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    price         INTEGER NOT NULL CHECK (price >= 0),
    currency      TEXT    NOT NULL,
    options       TEXT    NOT NULL DEFAULT '[]',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE skus (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id),
    sku        TEXT    NOT NULL UNIQUE,
    options    TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX skus_product ON skus (product_id);

-- The database refuses an oversell even if the code above it is wrong.
CREATE TABLE stock_levels (
    sku_id        INTEGER PRIMARY KEY REFERENCES skus (id),
    on_hand       INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved      INTEGER NOT NULL CHECK (reserved >= 0 AND reserved <= on_hand),
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX stock_levels_updated ON stock_levels (updated_at_ms);

CREATE TABLE stock_movements (
    id              INTEGER PRIMARY KEY,
    sku_id          INTEGER NOT NULL REFERENCES skus (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('receive', 'adjust', 'reserve', 'release', 'sale', 'return')),
    on_hand_delta   INTEGER NOT NULL,
    reserved_delta  INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    reference       TEXT    NOT NULL DEFAULT '',
    idempotency_key TEXT,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (sku_id);

CREATE TABLE holds (
    id            INTEGER PRIMARY KEY,
    sku_id        INTEGER NOT NULL REFERENCES skus (id),
    member_id     INTEGER REFERENCES members (id),
    live_id       INTEGER,
    qty           INTEGER NOT NULL CHECK (qty > 0),
    status        TEXT    NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
    channel       TEXT    NOT NULL,
    reference     TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT 'request',
    expires_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX holds_active_expiry ON holds (expires_at_ms) WHERE status = 'active';
CREATE INDEX holds_member ON holds (member_id, sku_id, live_id);

CREATE TABLE waitlist (
    id            INTEGER PRIMARY KEY,
    sku_id        INTEGER NOT NULL REFERENCES skus (id),
    member_id     INTEGER NOT NULL REFERENCES members (id),
    live_id       INTEGER,
    qty           INTEGER NOT NULL CHECK (qty > 0),
    status        TEXT    NOT NULL CHECK (status IN ('waiting', 'promoted', 'cancelled')),
    channel       TEXT    NOT NULL,
    reference     TEXT    NOT NULL DEFAULT '',
    ttl_seconds   INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX waitlist_line ON waitlist (sku_id, id) WHERE status = 'waiting';

-- A waitlist promotion, kept for the replies room to announce.
CREATE TABLE ledger_events (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    sku_id        INTEGER NOT NULL,
    member_id     INTEGER,
    live_id       INTEGER,
    hold_id       INTEGER,
    waitlist_id   INTEGER,
    qty           INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- The outcome of a request made with an idempotency key, replayed on a retry.
CREATE TABLE idempotency_keys (
    scope         TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    result        TEXT,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at_ms);
