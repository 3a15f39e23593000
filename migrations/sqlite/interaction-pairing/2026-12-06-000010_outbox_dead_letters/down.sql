DROP INDEX pairing_outbox_listed;
DROP INDEX pairing_outbox_dead;
ALTER TABLE pairing_outbox DROP COLUMN retried_at;
ALTER TABLE pairing_outbox DROP COLUMN dead_at;
