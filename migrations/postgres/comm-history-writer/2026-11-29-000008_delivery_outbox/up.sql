-- Delivery to the bank's communication-history-manager (records.delivery, optional): each stored
-- record (create) and each later change of its customer (update) is an entry, sent in the order
-- of its record's entries and rendered from the record as it is when sent. Kept once delivered,
-- with when and the manager's id, while the record exists: a GDPR request must say what reached
-- the manager. Personal data stays in communication_records alone.
CREATE TABLE delivery_outbox (
    id uuid PRIMARY KEY,
    record_id uuid NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create', 'update')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    external_id TEXT,
    last_error TEXT,
    -- The last attempt got no answer: the manager may have stored it; the next is a resend.
    unanswered boolean NOT NULL DEFAULT false
);
CREATE INDEX delivery_outbox_due ON delivery_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_outbox_dead ON delivery_outbox (id) WHERE status = 'dead';
CREATE INDEX delivery_outbox_record ON delivery_outbox (record_id, id);
