-- The copies at the communication-history-manager of the records the expiry erased past their
-- retention (ids only), noted in the batch's transaction before the deliveries go with the
-- records: operators list them (GET /expired-copies, records:operate), erase them at the manager,
-- and acknowledge each (POST /expired-copies/{deliveryId}/erased), which removes it here.
CREATE TABLE expired_copies (
    delivery_id     uuid PRIMARY KEY,
    record_id       uuid NOT NULL,
    idempotency_key text NOT NULL,
    external_id     text,
    delivered_at    timestamptz NOT NULL,
    expired_at      timestamptz NOT NULL
);
CREATE INDEX expired_copies_expired_at ON expired_copies (expired_at, delivery_id);
