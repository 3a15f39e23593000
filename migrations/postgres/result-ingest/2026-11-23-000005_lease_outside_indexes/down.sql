ALTER TABLE inbox_events RESET (fillfactor);
ALTER TABLE inbox_events DROP COLUMN lease_until;
