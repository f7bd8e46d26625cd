-- Reply templates kept in the database (edited by staff, seeded from config/templates),
-- and what the dispatcher needs to order and merge replies.
--
-- Templates are keyed by (name, lang): there is one shop per deployment, so the shop is
-- the database. A second shop would add a shop column to the key.

CREATE TABLE reply_templates (
    name          TEXT    NOT NULL,
    lang          TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    -- 1 while the text is the shipped default; seeding refreshes only those.
    is_default    BIGINT  NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (name, lang)
);

-- priority: 0 checkout links, 1 confirmations, 2 reminders; claimed in that order.
-- topic: what the row announces (checkout, merged, promoted, expiring, expired, paid…);
-- a buyer's first `checkout` row in a live is the one private reply the cart spends.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN live_id BIGINT;
ALTER TABLE outbox ADD COLUMN member_id BIGINT;
ALTER TABLE outbox ADD COLUMN topic TEXT;

CREATE INDEX outbox_due_priority ON outbox (priority, next_attempt_ms) WHERE status = 'pending';
CREATE INDEX outbox_cart ON outbox (live_id, member_id) WHERE topic = 'checkout';
-- The 24-hour window: the newest message a buyer wrote to the page.
CREATE INDEX inbox_messages_by_author ON inbox (platform, author_id, received_at_ms) WHERE kind = 'message';
