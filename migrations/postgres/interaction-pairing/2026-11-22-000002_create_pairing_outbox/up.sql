-- Pairings still to be passed to comm-history-writer (records written before the pairing get
-- its customer). Written in the same transaction as the pairing, so a crash loses none.
CREATE TABLE pairing_outbox (
    id              uuid PRIMARY KEY,
    interaction_id  uuid NOT NULL,
    customer_id     uuid NOT NULL,
    attempts        integer NOT NULL,
    -- When the entry is next due; while a worker holds it, the end of its lease.
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL
);

CREATE INDEX pairing_outbox_due ON pairing_outbox (next_attempt_at);
