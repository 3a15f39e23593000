-- The customer a result's Genesys participant data names (ingest.participant_data), kept apart
-- from the payload so that a GDPR request for that customer finds the result (count, export,
-- forget, hold) by an index, not by reading every payload.
ALTER TABLE inbox_events ADD COLUMN participant_customer_id uuid;
CREATE INDEX inbox_events_participant_customer ON inbox_events (participant_customer_id)
    WHERE participant_customer_id IS NOT NULL;
