-- Checkout no longer merges members by a typed phone or email (anyone can type anyone's
-- phone). When the contact a buyer types is already another member's, the order stays
-- the buyer's own and a suggestion is kept here for staff, who may merge the two.
CREATE TABLE member_merge_suggestions (
    id            INTEGER PRIMARY KEY,
    -- The member whose buyer typed the contact at checkout.
    member_id     INTEGER NOT NULL REFERENCES members (id),
    -- The member who already had it.
    holder_id     INTEGER NOT NULL REFERENCES members (id),
    field         TEXT    NOT NULL CHECK (field IN ('phone', 'email')),
    -- The order the contact was typed for (the first one, when typed again).
    order_id      INTEGER REFERENCES orders (id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (member_id, holder_id, field)
);
CREATE INDEX member_merge_suggestions_holder ON member_merge_suggestions (holder_id);
