DROP INDEX pairing_outbox_forgotten_by;
ALTER TABLE pairing_outbox DROP COLUMN forgotten_by;
DROP INDEX support_interactions_forgotten_by;
ALTER TABLE support_interactions DROP COLUMN forgotten_by;
