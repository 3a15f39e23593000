-- A check value of pairing.suppression_key (HMAC-SHA256 with the key over a fixed label), written
-- at the service's first start: the purged pairs' fingerprints are keyed with that key, and a
-- service started with another key would no longer recognise them (a purged customer could be
-- paired again with an erased interaction). The service refuses to start under another key.
CREATE TABLE suppression_key_check (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL
);
