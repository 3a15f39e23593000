-- A result a GDPR purge erased stays known as seen: a keyed fingerprint (HMAC-SHA256 with
-- ingest.suppression_key) of its identity (conversation, agent, wrap-up code), never the ids
-- themselves. Whatever the purge rewrote or deleted, a redelivery of the same result (Genesys
-- retrying its webhook, the sweep finding the conversation again) is dropped, whatever event time
-- it carries. Kept for good: that is what they are for.
CREATE TABLE erased_results (
    key_hash   TEXT NOT NULL PRIMARY KEY,
    request_id TEXT NOT NULL,
    erased_at  TEXT NOT NULL
);
