ALTER TABLE communication_records ADD COLUMN customer_source_previous TEXT
    CHECK (customer_source_previous IN ('pairing', 'late_pairing', 'handle_match'));
UPDATE communication_records SET customer_source_previous = customer_source;
ALTER TABLE communication_records DROP COLUMN customer_source;
ALTER TABLE communication_records RENAME COLUMN customer_source_previous TO customer_source;
