-- A paused live is a live that takes no orders for a while: comments still arrive and
-- bind to it, and its order comments wait in the review queue. Kept beside `state`
-- (which stays 'live') so the state CHECK and every "live now" query stay as they are.
ALTER TABLE live_sessions ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
