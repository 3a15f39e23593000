DROP TABLE suppressions;
DROP INDEX inbox_events_forgotten_by;
DROP INDEX inbox_events_customer_handle_key;
ALTER TABLE inbox_events DROP COLUMN forgotten_by;
ALTER TABLE inbox_events DROP COLUMN customer_handle_key;
