-- A record's customer may come from Genesys participant data (result-ingest's
-- ingest.participant_data): 'participant_data' joins the sources a record may say. SQLite cannot
-- change a column's CHECK: the column is made anew with it (no index names it).
ALTER TABLE communication_records ADD COLUMN customer_source_next TEXT
    CHECK (customer_source_next IN ('pairing', 'late_pairing', 'handle_match', 'participant_data'));
UPDATE communication_records SET customer_source_next = customer_source;
ALTER TABLE communication_records DROP COLUMN customer_source;
ALTER TABLE communication_records RENAME COLUMN customer_source_next TO customer_source;
