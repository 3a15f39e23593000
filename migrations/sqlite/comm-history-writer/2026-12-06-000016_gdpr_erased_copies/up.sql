-- The copies at the communication-history-manager of the records a FORGET's purge erased (ids
-- only), noted in the purge's transaction before the deliveries go with the records: every purge
-- of the request lists them again as toEraseElsewhere (a repeat answers the same, a purge after a
-- legal hold ended adds the rest). Copies of records a purge kept are not here: they are not
-- erased. Removed with the idempotency keys, after records.idempotency_retention_days.
CREATE TABLE gdpr_erased_copies (
    request_id      TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    external_id     TEXT,
    delivered_at    TEXT NOT NULL,
    noted_at        TEXT NOT NULL,
    PRIMARY KEY (request_id, delivery_id)
);
CREATE INDEX gdpr_erased_copies_noted_at ON gdpr_erased_copies (noted_at);
