-- When an entry's last attempt went out (sent_at), and when the first attempt that got no answer
-- went out (maybe_delivered_at: the manager may hold the record since, under the entry's
-- Idempotency-Key). A GDPR forget names such a copy too, without the manager's id.
ALTER TABLE delivery_outbox ADD COLUMN sent_at TEXT;
ALTER TABLE delivery_outbox ADD COLUMN maybe_delivered_at TEXT;
