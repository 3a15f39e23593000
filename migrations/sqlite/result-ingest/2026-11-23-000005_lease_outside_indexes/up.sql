-- The end of a worker's lease on a pending event, apart from when it is due (next_attempt_at,
-- which the claim index orders by): on PostgreSQL this lets a claim update no index.
ALTER TABLE inbox_events ADD COLUMN lease_until TEXT;
