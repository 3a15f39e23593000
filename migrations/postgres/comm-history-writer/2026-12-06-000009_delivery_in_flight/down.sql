ALTER TABLE delivery_outbox DROP COLUMN sending_until;
