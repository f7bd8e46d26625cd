-- From webhook to outcome: pages, live sessions, identities, the inbox and the outbox.

CREATE TABLE pages (
    id            INTEGER PRIMARY KEY,
    platform      TEXT    NOT NULL,
    page_id       TEXT    NOT NULL,
    access_token  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (platform, page_id)
);

CREATE TABLE live_sessions (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('scheduled', 'live', 'ended')),
    current_keyword  TEXT,
    hold_ttl_seconds INTEGER NOT NULL,
    waitlist         INTEGER NOT NULL,
    limit_per_member INTEGER,
    lease_owner      TEXT,
    lease_until_ms   INTEGER NOT NULL DEFAULT 0,
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL
);

CREATE TABLE live_bindings (
    live_id   INTEGER NOT NULL REFERENCES live_sessions (id),
    platform  TEXT    NOT NULL,
    page_id   TEXT    NOT NULL,
    object_id TEXT    NOT NULL,
    PRIMARY KEY (live_id, platform, object_id)
);
CREATE INDEX live_bindings_object ON live_bindings (platform, object_id);

CREATE TABLE live_lineup (
    live_id      INTEGER NOT NULL REFERENCES live_sessions (id),
    keyword      TEXT    NOT NULL,
    product_code TEXT    NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (live_id, keyword)
);

CREATE TABLE identities (
    platform         TEXT    NOT NULL,
    platform_user_id TEXT    NOT NULL,
    member_id        INTEGER NOT NULL REFERENCES members (id),
    display_name     TEXT    NOT NULL DEFAULT '',
    created_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (platform, platform_user_id)
);
CREATE INDEX identities_member ON identities (member_id);

-- One row per platform event. `id` is the arrival order.
CREATE TABLE inbox (
    id               INTEGER PRIMARY KEY,
    platform         TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    verb             TEXT    NOT NULL,
    comment_id       TEXT,
    object_id        TEXT,
    page_id          TEXT,
    author_id        TEXT,
    author_name      TEXT,
    text             TEXT,
    platform_time_ms INTEGER NOT NULL,
    live_id          INTEGER,
    source           TEXT    NOT NULL,
    raw              TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'done')),
    outcome          TEXT,
    reason           TEXT,
    parse_result     TEXT,
    member_id        INTEGER,
    hold_ids         TEXT    NOT NULL DEFAULT '[]',
    received_at_ms   INTEGER NOT NULL,
    processed_at_ms  INTEGER,
    UNIQUE (platform, external_id)
);
CREATE INDEX inbox_pending ON inbox (live_id, platform_time_ms, id) WHERE status = 'pending';
CREATE INDEX inbox_pending_arrival ON inbox (live_id, received_at_ms) WHERE status = 'pending';
CREATE INDEX inbox_live ON inbox (live_id, id);
CREATE INDEX inbox_comment ON inbox (platform, comment_id);

-- Replies to send, written in the same transaction as the outcome they announce.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    inbox_id            INTEGER REFERENCES inbox (id),
    kind                TEXT    NOT NULL,
    target              TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    dedupe_key          TEXT    NOT NULL UNIQUE,
    status              TEXT    NOT NULL DEFAULT 'pending',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms     INTEGER NOT NULL,
    platform_message_id TEXT,
    last_error          TEXT,
    created_at_ms       INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE status = 'pending';
CREATE INDEX outbox_inbox ON outbox (inbox_id);
