-- The shop's checkout choices edited by the owner in the console (issue 15 §8): payment
-- methods, pickup stores and the delivery switch. No row in `shop_checkout` means the
-- config (`checkout.payment_methods`, `checkout.pickup_stores`, `checkout.delivery`)
-- applies; a row means the two lists below replace the config's, whole. There is one
-- shop per deployment, so the table holds at most one row (`id = 1`). `position` keeps
-- the owner's order.
CREATE TABLE shop_checkout (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    delivery      BOOLEAN NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    updated_by    TEXT    NOT NULL
);
CREATE TABLE shop_payment_methods (
    position     INTEGER NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL UNIQUE
                 CHECK (kind IN ('bank_transfer', 'fps', 'payme', 'cash_on_pickup', 'hosted')),
    instructions TEXT    NOT NULL
);
CREATE TABLE shop_pickup_stores (
    position INTEGER NOT NULL PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE
);
