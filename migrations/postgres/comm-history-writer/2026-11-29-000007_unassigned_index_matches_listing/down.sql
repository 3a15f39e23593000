DROP INDEX communication_records_unassigned;
CREATE INDEX communication_records_unassigned ON communication_records (communicated_at DESC, id DESC)
    WHERE customer_id IS NULL AND forgotten_by IS NULL;
