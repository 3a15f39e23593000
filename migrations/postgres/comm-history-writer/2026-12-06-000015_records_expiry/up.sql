-- The records' expiry (comm_history_writer::expiry) walks the records past their retention oldest
-- first, by (communicated_at, id), a batch at a time. Built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS communication_records_communicated
    ON communication_records (communicated_at, id);
