-- What a purged GDPR forget of a customer leaves behind: a keyed hash (HMAC-SHA256 with
-- pairing.suppression_key) of each (interaction, customer) pair it purged, so that pairing that
-- customer with that interaction again is refused. Names nobody; kept for good.
CREATE TABLE gdpr_suppressed_pairings (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    request_id  TEXT NOT NULL
);
