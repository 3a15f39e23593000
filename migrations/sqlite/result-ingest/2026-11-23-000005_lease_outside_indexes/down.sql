ALTER TABLE inbox_events DROP COLUMN lease_until;
