ALTER TABLE inbox_events DROP COLUMN confirmed_at;
DROP TABLE sweeper;
DROP TABLE sweeps;
ALTER TABLE inbox_events DROP COLUMN origin;
DROP INDEX inbox_events_result;
