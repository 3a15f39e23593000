-- Communication history: one row per communication with a customer.
CREATE TABLE communication_records (
    id                  uuid PRIMARY KEY,
    direction           text NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
    communicated_at     timestamptz NOT NULL,
    source              text NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('VOICE', 'CHAT', 'EMAIL', 'SMS', 'VIDEO', 'OTHER')),
    domain              text NOT NULL,
    customer_id         uuid,
    customer_handle     text NOT NULL,
    -- Normalised customer_handle (E.164 phone, lower-case e-mail) so GDPR requests find every form.
    customer_handle_key text NOT NULL,
    interaction_id      uuid NOT NULL,
    bank_user_id        text,
    bank_user_name      text,
    purpose             text,
    title               text NOT NULL,
    body                text NOT NULL,
    created_at          timestamptz NOT NULL
);

-- Listings are newest first by (communicated_at, id) within a customer or an interaction.
CREATE INDEX communication_records_customer ON communication_records (customer_id, communicated_at DESC, id DESC);
CREATE INDEX communication_records_interaction ON communication_records (interaction_id, communicated_at DESC, id DESC);
CREATE INDEX communication_records_handle_key ON communication_records (customer_handle_key);

-- Idempotency-Key → the record its first request created, per caller.
CREATE TABLE idempotency_keys (
    caller          text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    record_id       uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
