ALTER TABLE delivery_outbox DROP COLUMN maybe_delivered_at;
ALTER TABLE delivery_outbox DROP COLUMN sent_at;
