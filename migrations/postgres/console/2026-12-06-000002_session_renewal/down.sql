ALTER TABLE console_sessions DROP COLUMN renewing_until;
ALTER TABLE console_sessions DROP COLUMN generation;
ALTER TABLE console_sessions DROP COLUMN signed_in;
ALTER TABLE console_sessions ADD COLUMN roles text NOT NULL DEFAULT '';
ALTER TABLE console_sessions ADD COLUMN subject text;
