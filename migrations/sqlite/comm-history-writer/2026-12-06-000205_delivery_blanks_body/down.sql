ALTER TABLE delivery_outbox DROP COLUMN blanks_body;
