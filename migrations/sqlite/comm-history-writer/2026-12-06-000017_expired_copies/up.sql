-- The copies at the communication-history-manager of the records the expiry erased past their
-- retention (ids only), noted in the batch's transaction before the deliveries go with the
-- records: operators list them (GET /expired-copies, records:operate), erase them at the manager,
-- and acknowledge each (POST /expired-copies/{deliveryId}/erased), which removes it here.
CREATE TABLE expired_copies (
    delivery_id     TEXT PRIMARY KEY NOT NULL,
    record_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    external_id     TEXT,
    delivered_at    TEXT NOT NULL,
    expired_at      TEXT NOT NULL
);
CREATE INDEX expired_copies_expired_at ON expired_copies (expired_at, delivery_id);
