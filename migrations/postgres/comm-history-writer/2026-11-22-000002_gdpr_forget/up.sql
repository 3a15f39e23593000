-- GDPR: a forget hides the subject's records under the request's id (read paths skip them)
-- until UNDO_FORGET clears it or the purge deletes them.
ALTER TABLE communication_records ADD COLUMN forgotten_by uuid;
CREATE INDEX communication_records_forgotten_by ON communication_records (forgotten_by);
