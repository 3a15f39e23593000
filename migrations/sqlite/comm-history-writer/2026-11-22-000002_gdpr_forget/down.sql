DROP INDEX communication_records_forgotten_by;
ALTER TABLE communication_records DROP COLUMN forgotten_by;
