-- Only forgotten records are looked up by forgotten_by: a partial index costs nothing when a
-- record is written (every record is written unforgotten).
DROP INDEX communication_records_forgotten_by;
CREATE INDEX communication_records_forgotten_by ON communication_records (forgotten_by) WHERE forgotten_by IS NOT NULL;
