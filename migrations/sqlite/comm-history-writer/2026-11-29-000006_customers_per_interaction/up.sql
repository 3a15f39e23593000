-- One record per customer of an interaction. A customer paired when the interaction's record
-- already had another gets a copy of it, naming the record it was copied from (its root): one
-- copy per root and customer.
ALTER TABLE communication_records ADD COLUMN copied_from TEXT;
CREATE UNIQUE INDEX communication_records_copies ON communication_records (copied_from, customer_id)
    WHERE copied_from IS NOT NULL AND customer_id IS NOT NULL;
-- A removed pairing withdraws that customer's records: kept, with who removed it and when, and
-- served to nobody but a GDPR export. (No pairing left: the communication is unassigned again,
-- as a copy without a customer.)
ALTER TABLE communication_records ADD COLUMN withdrawn_at TEXT;
ALTER TABLE communication_records ADD COLUMN withdrawn_by TEXT;
