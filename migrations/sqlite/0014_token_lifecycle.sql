-- API tokens may expire (NULL: never) and show when they were last used (written at most
-- once a minute per token).
ALTER TABLE api_tokens ADD COLUMN expires_at_ms INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_at_ms INTEGER;
