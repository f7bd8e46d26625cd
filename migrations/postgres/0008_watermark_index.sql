-- The sequencer's watermark (the latest platform time among pending events that arrived
-- before the reorder window) is read from this index alone, without visiting the rows:
-- during a storm the pending backlog is large and this query runs once per batch.
DROP INDEX inbox_pending_arrival;
CREATE INDEX inbox_pending_arrival ON inbox (live_id, received_at_ms) INCLUDE (platform_time_ms) WHERE status = 'pending';
