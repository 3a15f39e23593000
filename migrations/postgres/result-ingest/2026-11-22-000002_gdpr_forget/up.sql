-- GDPR: the ANI's search key (E.164 phone, lower-case e-mail) finds a subject's webhook results;
-- a forget hides them under the request's id until UNDO_FORGET or the purge.
ALTER TABLE inbox_events ADD COLUMN customer_handle_key text;
ALTER TABLE inbox_events ADD COLUMN forgotten_by uuid;
CREATE INDEX inbox_events_customer_handle_key ON inbox_events (customer_handle_key);
CREATE INDEX inbox_events_forgotten_by ON inbox_events (forgotten_by);

-- After a forget, late webhook deliveries for the subject from before it are dropped. Keyed
-- hashes (HMAC-SHA256 with ingest.suppression_key) of the subject's identifiers, never the
-- identifiers themselves. Kept after the purge: that is what they are for.
CREATE TABLE suppressions (
    request_id   uuid NOT NULL,
    key_hash     text NOT NULL,
    forgotten_at timestamptz NOT NULL,
    PRIMARY KEY (request_id, key_hash)
);
CREATE INDEX suppressions_key_hash ON suppressions (key_hash);
