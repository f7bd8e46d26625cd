-- Console accounts: users with a password hash and a role, their server-side sessions,
-- and the one-time links that create the first owner. API tokens gain the `host` role
-- and revocation.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    -- Lowercased on the way in, so `Ada` and `ada` are one user.
    username       TEXT    NOT NULL UNIQUE,
    -- argon2id, in the PHC string format.
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'staff', 'host')),
    -- Set while the user is disabled: no sign-in, no session.
    disabled_at_ms INTEGER,
    created_at_ms  INTEGER NOT NULL
);

-- Only a SHA-256 of the session id (the cookie) is kept.
CREATE TABLE console_sessions (
    id_hash         TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    -- Every form of this session carries it.
    csrf_token      TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    -- The absolute timeout; the idle one is read from the config when the session is used.
    expires_at_ms   INTEGER NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Links printed on a start with no users; any of them makes the first owner, once.
CREATE TABLE setup_tokens (
    token_hash    TEXT    PRIMARY KEY,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

-- SQLite cannot change a CHECK in place: the table is rebuilt with the same rows and ids.
CREATE TABLE api_tokens_v9 (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'staff', 'host')),
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
INSERT INTO api_tokens_v9 (id, name, role, token_hash, created_at_ms)
    SELECT id, name, role, token_hash, created_at_ms FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v9 RENAME TO api_tokens;
