-- A claim used to move next_attempt_at to the end of its lease. next_attempt_at is the key of
-- inbox_events_due, so every claim was a full update: a new row version plus a new entry in each
-- of the table's five indexes, later vacuumed. The lease now has its own column, in no index, so
-- PostgreSQL can make the claim a heap-only (HOT) update; next_attempt_at only changes when an
-- attempt fails.
ALTER TABLE inbox_events ADD COLUMN lease_until timestamptz;
-- A HOT update needs room on the row's own page, and a worker claims every row of a page in one
-- batch: pages are filled half, so each row's claimed version fits beside it. (At 70, only about
-- a third of the claims were heap-only; at 50, all of them. The inbox is transient: processed
-- rows go after ingest.retention_days, so the doubled space is bounded.)
ALTER TABLE inbox_events SET (fillfactor = 50);
