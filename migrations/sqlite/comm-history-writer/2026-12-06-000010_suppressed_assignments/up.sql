-- The (interaction, customer) pairs a GDPR forget of a customer reached, as keyed hashes
-- (HMAC-SHA256 with records.suppression_key: nothing here names anyone, and without the key the
-- hashes cannot be tested against guesses). Kept once the forget is purged: an assignment of that
-- customer to that interaction afterwards (a late pairing, result-ingest's pairing of a further
-- customer) gives them nothing, so no record naming them comes back, or goes to the manager.
-- An undo removes its request's rows.
CREATE TABLE gdpr_suppressed_assignments (
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    purged BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, fingerprint)
);
CREATE INDEX gdpr_suppressed_assignments_purged ON gdpr_suppressed_assignments (fingerprint) WHERE purged;
