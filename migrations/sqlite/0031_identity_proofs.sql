-- A buyer who typed at checkout a phone or email that another member has may prove that
-- the other member is theirs too: a one-time code goes to that member through its own
-- chat, and typing it back joins the two. Only the code's hash is kept.
CREATE TABLE identity_proofs (
    id            INTEGER PRIMARY KEY,
    suggestion_id INTEGER NOT NULL REFERENCES member_merge_suggestions (id) ON DELETE CASCADE,
    code_hash     TEXT    NOT NULL,
    -- Wrong codes typed against this one.
    attempts      INTEGER NOT NULL DEFAULT 0,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX identity_proofs_suggestion ON identity_proofs (suggestion_id, id);

-- A merge the buyer proved with such a code is recorded as `proven_code`. SQLite cannot
-- change a CHECK in place, so the table is rebuilt with its rows.
CREATE TABLE member_merges_new (
    id            INTEGER PRIMARY KEY,
    survivor_id   INTEGER NOT NULL REFERENCES members (id),
    merged_id     INTEGER NOT NULL REFERENCES members (id),
    reason        TEXT    NOT NULL
        CHECK (reason IN ('checkout_phone', 'checkout_email', 'staff', 'proven_code')),
    actor         TEXT    NOT NULL,
    identities    TEXT    NOT NULL DEFAULT '[]',
    points_moved  INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);
INSERT INTO member_merges_new
    (id, survivor_id, merged_id, reason, actor, identities, points_moved, created_at_ms)
    SELECT id, survivor_id, merged_id, reason, actor, identities, points_moved, created_at_ms
    FROM member_merges;
DROP TABLE member_merges;
ALTER TABLE member_merges_new RENAME TO member_merges;
CREATE INDEX member_merges_survivor ON member_merges (survivor_id);
CREATE INDEX member_merges_merged ON member_merges (merged_id);
