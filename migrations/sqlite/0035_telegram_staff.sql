-- The staff bot (issue 17 §4). Console users link their Telegram account with a one-time
-- code shown once on their account page (kept here as its SHA-256 hash, for 10 minutes),
-- sent to the bot as `/link <code>` in a private chat.
CREATE TABLE telegram_link_codes (
    code_hash       TEXT   PRIMARY KEY,
    console_user_id BIGINT NOT NULL REFERENCES users (id),
    expires_at_ms   BIGINT NOT NULL,
    used_at_ms      BIGINT
);
CREATE INDEX telegram_link_codes_user ON telegram_link_codes (console_user_id);
-- Telegram users linked to console users: one Telegram account per console user and one
-- console user per Telegram account. What they may do is read from `users` when they act
-- (role, disabled), never from here.
CREATE TABLE telegram_staff (
    telegram_user_id TEXT   PRIMARY KEY,
    console_user_id  BIGINT NOT NULL UNIQUE REFERENCES users (id),
    linked_at_ms     BIGINT NOT NULL
);
