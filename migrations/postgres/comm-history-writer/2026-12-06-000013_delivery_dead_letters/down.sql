DROP INDEX delivery_outbox_listed;
ALTER TABLE delivery_outbox DROP COLUMN retried_at;
ALTER TABLE delivery_outbox DROP COLUMN dead_at;
