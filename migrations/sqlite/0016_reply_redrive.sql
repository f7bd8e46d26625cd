-- Replies retry for a window of time (outbox.retry_for_hours), counted from here; a staff
-- re-drive (POST /api/v1/replies/{id}/retry) starts the window again. NULL: from created_at_ms.
ALTER TABLE outbox ADD COLUMN retry_from_ms INTEGER;
-- The re-drive list filters by status and live session.
CREATE INDEX outbox_status_live ON outbox (status, live_id, id);
