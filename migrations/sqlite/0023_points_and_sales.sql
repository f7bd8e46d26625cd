-- Points as a ledger, and counter sales (issue 15 §2 and §3).
--
-- A member's balance is the sum of their point movements; `members.points` is kept equal
-- to it in the same transaction as every movement. Kinds: `earned` (a paid order or sale;
-- negative when a cancelled one takes its points back), `spent` (negative), `returned`
-- (spent points given back by a cancellation) and `adjusted` (by staff, with a reason).

-- Points an order spent and what they took off its total (`total` is what is paid).
ALTER TABLE orders ADD COLUMN points_spent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN points_discount INTEGER NOT NULL DEFAULT 0;

-- A sale at the shop counter: paid at once, its units committed through the ledger as
-- `sale` movements on channel `pos`. Orders need a cart, a live and holds, so a counter
-- sale has its own table.
CREATE TABLE sales (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER REFERENCES members (id),
    status          TEXT    NOT NULL CHECK (status IN ('paid', 'cancelled')),
    currency        TEXT    NOT NULL,
    subtotal        INTEGER NOT NULL CHECK (subtotal >= 0),
    points_spent    INTEGER NOT NULL DEFAULT 0 CHECK (points_spent >= 0),
    points_discount INTEGER NOT NULL DEFAULT 0 CHECK (points_discount >= 0),
    total           INTEGER NOT NULL CHECK (total >= 0),
    points_earned   INTEGER NOT NULL DEFAULT 0,
    payment_method  TEXT    NOT NULL CHECK (payment_method IN
                        ('cash', 'card', 'fps', 'payme', 'octopus', 'bank_transfer', 'other')),
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    cancelled_at_ms INTEGER
);
CREATE INDEX sales_member ON sales (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX sales_created ON sales (created_at_ms);

CREATE TABLE sale_lines (
    sale_id    INTEGER NOT NULL REFERENCES sales (id),
    line       INTEGER NOT NULL,
    sku_id     INTEGER NOT NULL REFERENCES skus (id),
    sku        TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    options    TEXT    NOT NULL DEFAULT '[]',
    qty        INTEGER NOT NULL CHECK (qty > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (sale_id, line)
);

CREATE TABLE point_movements (
    id            INTEGER PRIMARY KEY,
    member_id     INTEGER NOT NULL REFERENCES members (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('earned', 'spent', 'returned', 'adjusted')),
    points        INTEGER NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    order_id      INTEGER REFERENCES orders (id),
    sale_id       INTEGER REFERENCES sales (id),
    actor         TEXT    NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX point_movements_member ON point_movements (member_id, id);

-- Balances from before the ledger become one movement each, so history sums to balance.
INSERT INTO point_movements (member_id, kind, points, reason, created_at_ms)
SELECT id, 'adjusted', points, 'balance before the points ledger', updated_at_ms
FROM members WHERE points <> 0;

CREATE INDEX point_movements_sale ON point_movements (sale_id) WHERE sale_id IS NOT NULL;
CREATE INDEX point_movements_order ON point_movements (order_id) WHERE order_id IS NOT NULL;
