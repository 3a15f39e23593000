-- Pairings still to be passed to comm-history-writer (records written before the pairing get
-- its customer). Written in the same transaction as the pairing, so a crash loses none.
CREATE TABLE pairing_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    interaction_id  TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    -- When the entry is next due; while a worker holds it, the end of its lease.
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);

CREATE INDEX pairing_outbox_due ON pairing_outbox (next_attempt_at);
