-- Console accounts: users with a password hash and a role, their server-side sessions,
-- and the one-time links that create the first owner. API tokens gain the `host` role
-- and revocation.

CREATE TABLE users (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lowercased on the way in, so `Ada` and `ada` are one user.
    username       TEXT   NOT NULL UNIQUE,
    -- argon2id, in the PHC string format.
    password_hash  TEXT   NOT NULL,
    role           TEXT   NOT NULL CHECK (role IN ('owner', 'staff', 'host')),
    -- Set while the user is disabled: no sign-in, no session.
    disabled_at_ms BIGINT,
    created_at_ms  BIGINT NOT NULL
);

-- Only a SHA-256 of the session id (the cookie) is kept.
CREATE TABLE console_sessions (
    id_hash         TEXT   PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    -- Every form of this session carries it.
    csrf_token      TEXT   NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL,
    -- The absolute timeout; the idle one is read from the config when the session is used.
    expires_at_ms   BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Links printed on a start with no users; any of them makes the first owner, once.
CREATE TABLE setup_tokens (
    token_hash    TEXT   PRIMARY KEY,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('owner', 'staff', 'host'));
ALTER TABLE api_tokens ADD COLUMN revoked_at_ms BIGINT;
