-- Communication history: one row per communication with a customer.
CREATE TABLE communication_records (
    id                  TEXT PRIMARY KEY NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
    communicated_at     TEXT NOT NULL,
    source              TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('VOICE', 'CHAT', 'EMAIL', 'SMS', 'VIDEO', 'OTHER')),
    domain              TEXT NOT NULL,
    customer_id         TEXT,
    customer_handle     TEXT NOT NULL,
    -- Normalised customer_handle (E.164 phone, lower-case e-mail) so GDPR requests find every form.
    customer_handle_key TEXT NOT NULL,
    interaction_id      TEXT NOT NULL,
    bank_user_id        TEXT,
    bank_user_name      TEXT,
    purpose             TEXT,
    title               TEXT NOT NULL,
    body                TEXT NOT NULL,
    created_at          TEXT NOT NULL
);

-- Listings are newest first by (communicated_at, id) within a customer or an interaction.
CREATE INDEX communication_records_customer ON communication_records (customer_id, communicated_at DESC, id DESC);
CREATE INDEX communication_records_interaction ON communication_records (interaction_id, communicated_at DESC, id DESC);
CREATE INDEX communication_records_handle_key ON communication_records (customer_handle_key);

-- Idempotency-Key → the record its first request created, per caller.
CREATE TABLE idempotency_keys (
    caller          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
