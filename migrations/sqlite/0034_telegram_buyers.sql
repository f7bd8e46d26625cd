-- Telegram users who started the bot: plusone recorded a /start from them, so a private
-- message can reach them. Nothing is guessed from a failed message.
CREATE TABLE telegram_started (
    user_id       TEXT   PRIMARY KEY,
    started_at_ms BIGINT NOT NULL
);
-- Deep-link codes (t.me/<bot>?start=<code>). Either posted in a group for a buyer who has
-- not started the bot, bound to the one Telegram user who commented (a /start with it
-- from anyone else binds nothing); or shown on a buyer's own checkout page ("follow my
-- order on Telegram"), bound to their member, whom the first Telegram user to use it
-- joins.
CREATE TABLE telegram_start_codes (
    code          TEXT   PRIMARY KEY,
    user_id       TEXT,
    member_id     BIGINT REFERENCES members (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    CHECK (user_id IS NOT NULL OR member_id IS NOT NULL)
);
CREATE INDEX telegram_start_codes_user ON telegram_start_codes (user_id);
CREATE INDEX telegram_start_codes_member ON telegram_start_codes (member_id);
