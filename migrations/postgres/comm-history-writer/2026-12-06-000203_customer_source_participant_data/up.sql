-- A record's customer may come from Genesys participant data (result-ingest's
-- ingest.participant_data): 'participant_data' joins the sources a record may say.
ALTER TABLE communication_records DROP CONSTRAINT communication_records_customer_source_check;
ALTER TABLE communication_records ADD CONSTRAINT communication_records_customer_source_check
    CHECK (customer_source IN ('pairing', 'late_pairing', 'handle_match', 'participant_data'));
