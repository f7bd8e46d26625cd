-- Personal data (issue 14 §12): erased members, Meta's data-deletion requests, and the
-- raw payload retention.

-- When a member's personal data was erased; the row stays for the books.
ALTER TABLE members ADD COLUMN erased_at_ms INTEGER;

-- A data-deletion request Meta sent for a user, answered with this confirmation code.
-- It holds no platform id: only what the status page shows.
CREATE TABLE data_deletions (
    code          TEXT    PRIMARY KEY,
    platform      TEXT    NOT NULL,
    members       INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('completed')),
    created_at_ms INTEGER NOT NULL
);

-- Raw payloads still kept, oldest first: the sweeper drops them after the retention.
-- A dropped payload is the empty string (the column is NOT NULL).
CREATE INDEX inbox_raw_kept ON inbox (received_at_ms) WHERE raw <> '';
