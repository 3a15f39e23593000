-- How each record's customer was found: 'pairing' (known when it was written), 'late_pairing'
-- (a pairing after it), 'handle_match' (inferred from its handle, records.auto_assign_by_handle);
-- null while it has none. Records written before this migration with a customer are taken as
-- 'pairing': which of them came late is not known any more.
ALTER TABLE communication_records ADD COLUMN customer_source TEXT
    CHECK (customer_source IN ('pairing', 'late_pairing', 'handle_match'));
UPDATE communication_records SET customer_source = 'pairing' WHERE customer_id IS NOT NULL;

-- Records nobody attributed, newest first: the unassigned listing reads only these.
CREATE INDEX communication_records_unassigned ON communication_records (communicated_at DESC, id DESC)
    WHERE customer_id IS NULL AND forgotten_by IS NULL;
-- Suggestions: which customers used a handle, and how often.
DROP INDEX communication_records_handle_key;
CREATE INDEX communication_records_handle_key ON communication_records (customer_handle_key, customer_id);
