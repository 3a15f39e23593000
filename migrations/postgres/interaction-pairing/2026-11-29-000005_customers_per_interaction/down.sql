ALTER TABLE pairing_outbox DROP COLUMN actor;
ALTER TABLE pairing_outbox DROP COLUMN action;
CREATE TABLE support_interactions (
    interaction_id uuid PRIMARY KEY,
    customer_id    uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    forgotten_by   uuid
);
CREATE INDEX support_interactions_customer_id ON support_interactions (customer_id);
CREATE INDEX support_interactions_forgotten_by ON support_interactions (forgotten_by);
-- Each interaction's latest pairing, as before.
INSERT INTO support_interactions (interaction_id, customer_id, created_at, updated_at, forgotten_by)
    SELECT c.interaction_id, c.customer_id, c.paired_at, c.paired_at, c.forgotten_by FROM interaction_customers c
    WHERE NOT EXISTS (SELECT 1 FROM interaction_customers later WHERE later.interaction_id = c.interaction_id
                      AND (later.paired_at > c.paired_at OR (later.paired_at = c.paired_at AND later.id > c.id)));
DROP TABLE interaction_customers;
