-- API tokens. Only a SHA-256 of the token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('owner', 'staff')),
    token_hash    TEXT   NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
