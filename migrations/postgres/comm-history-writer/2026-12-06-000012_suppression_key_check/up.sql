-- A check value of records.suppression_key (HMAC-SHA256 with the key over a fixed label), written at the
-- service's first start: every stored suppression and erased fingerprint is keyed with that key,
-- and a service started with another key would no longer recognise them (a purged subject's data
-- could come back). The service refuses to start when the configured key does not match. One row.
CREATE TABLE suppression_key_check (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL
);
