-- The members room: profile, contact, tier, points, the restrict flag and merges.
--
-- `phone` and `email` are stored normalised (see src/members.rs), so lookups and the
-- unique indexes compare like with like. A merged member keeps its row (old ids still
-- resolve through `merged_into`) but leaves the unique indexes.

ALTER TABLE members ADD COLUMN name TEXT;
ALTER TABLE members ADD COLUMN phone TEXT;
ALTER TABLE members ADD COLUMN email TEXT;
ALTER TABLE members ADD COLUMN delivery_address TEXT;
ALTER TABLE members ADD COLUMN pickup_store TEXT;
ALTER TABLE members ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE members ADD COLUMN points INTEGER NOT NULL DEFAULT 0;
-- Orders are held back for staff review (blocked_reason refuses them).
ALTER TABLE members ADD COLUMN restricted_reason TEXT;
ALTER TABLE members ADD COLUMN merged_into INTEGER REFERENCES members (id);
ALTER TABLE members ADD COLUMN updated_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE members SET updated_at_ms = created_at_ms;

CREATE UNIQUE INDEX members_phone ON members (phone) WHERE phone IS NOT NULL AND merged_into IS NULL;
CREATE UNIQUE INDEX members_email ON members (email) WHERE email IS NOT NULL AND merged_into IS NULL;

-- One row per merge: who absorbed whom, why, by whom, and which identities moved.
CREATE TABLE member_merges (
    id            INTEGER PRIMARY KEY,
    survivor_id   INTEGER NOT NULL REFERENCES members (id),
    merged_id     INTEGER NOT NULL REFERENCES members (id),
    reason        TEXT    NOT NULL CHECK (reason IN ('checkout_phone', 'checkout_email', 'staff')),
    actor         TEXT    NOT NULL,
    identities    TEXT    NOT NULL DEFAULT '[]',
    points_moved  INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX member_merges_survivor ON member_merges (survivor_id);
CREATE INDEX member_merges_merged ON member_merges (merged_id);

-- A merge re-points a member's rows; without these it scans whole tables.
CREATE INDEX inbox_member ON inbox (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX waitlist_member ON waitlist (member_id);
CREATE INDEX ledger_events_member ON ledger_events (member_id) WHERE member_id IS NOT NULL;
