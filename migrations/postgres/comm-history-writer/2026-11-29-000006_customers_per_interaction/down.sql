ALTER TABLE communication_records DROP COLUMN withdrawn_by;
ALTER TABLE communication_records DROP COLUMN withdrawn_at;
DROP INDEX communication_records_copies;
ALTER TABLE communication_records DROP COLUMN copied_from;
