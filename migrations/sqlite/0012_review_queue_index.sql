-- The console's review queue polls how many comments wait and the newest one every
-- 2 s per open page; without this it would read the whole inbox each time.
CREATE INDEX inbox_needs_review ON inbox (id) WHERE outcome = 'needs_review';
