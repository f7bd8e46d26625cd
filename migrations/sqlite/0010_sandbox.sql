-- The sandbox: a live bound to no platform, products kept apart from the real shop's,
-- and what the sandbox sender delivered instead of calling Meta.
--
-- A sandbox live may only sell sandbox products, so its holds never take stock the
-- counter or the web shop could sell; its members (identities on platform 'sandbox') and
-- orders are left out of the shop's exports, and a reset removes all of it.

ALTER TABLE products ADD COLUMN sandbox BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE live_sessions ADD COLUMN sandbox BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per outbox row the sandbox sender "sent" (UNIQUE: a retried send records once).
CREATE TABLE sandbox_replies (
    id            INTEGER PRIMARY KEY,
    outbox_id     INTEGER NOT NULL UNIQUE,
    live_id       INTEGER,
    inbox_id      INTEGER,
    viewer_id     TEXT,
    comment_id    TEXT,
    kind          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX sandbox_replies_viewer ON sandbox_replies (live_id, viewer_id, id);
