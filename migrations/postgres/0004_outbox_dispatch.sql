-- The dispatcher's bookkeeping on outbox rows.
--
-- status moves pending → sending (claimed under a lease) → sent | pending (retry) |
-- failed (a final platform error) | dead (out of attempts). A 'sending' row whose lease
-- ran out belongs to a replica that died mid-send, so it is claimable again.
-- lost_responses counts attempts whose answer never came back (a timeout, a crash): such
-- an attempt may have been delivered, so a later "already replied" means it was.

ALTER TABLE outbox ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lost_responses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sent_at_ms BIGINT;
ALTER TABLE outbox ADD COLUMN updated_at_ms BIGINT;

CREATE INDEX outbox_leased ON outbox (lease_until_ms) WHERE status = 'sending';
