-- Several customers per interaction (the caller may act for others): each pairing is a row of
-- its own, and pairing the same customer again changes nothing. The former one-per-interaction
-- pairings become the first of their interactions, with the interaction's id as their own id,
-- so GDPR holds of kind 'pairing' still name them.
CREATE TABLE interaction_customers (
    id             uuid PRIMARY KEY,
    interaction_id uuid NOT NULL,
    customer_id    uuid NOT NULL,
    paired_at      timestamptz NOT NULL,
    forgotten_by   uuid,
    UNIQUE (interaction_id, customer_id)
);
CREATE INDEX interaction_customers_customer_id ON interaction_customers (customer_id);
CREATE INDEX interaction_customers_forgotten_by ON interaction_customers (forgotten_by) WHERE forgotten_by IS NOT NULL;
INSERT INTO interaction_customers (id, interaction_id, customer_id, paired_at, forgotten_by)
    SELECT interaction_id, interaction_id, customer_id, updated_at, forgotten_by FROM support_interactions;
DROP TABLE support_interactions;

-- The outbox carries removals too: a removed pairing withdraws that customer's records, in the
-- name of who removed it.
ALTER TABLE pairing_outbox ADD COLUMN action text NOT NULL DEFAULT 'assign' CHECK (action IN ('assign', 'withdraw'));
ALTER TABLE pairing_outbox ADD COLUMN actor text;
