-- Pairings in the name of who made them: the caller (the client, e.g. the console), the person
-- it acted for (the provider's subject and display name; none when a machine acted as itself),
-- and why, when a reason was given. A removed pairing is kept, with who removed it, when and
-- why: only a current pairing (removed_at null) is unique per interaction and customer, so the
-- same customer can be paired again after a removal. Rows from before hold no actors (null).
ALTER TABLE interaction_customers
    ADD COLUMN paired_by_caller text,
    ADD COLUMN paired_by_subject text,
    ADD COLUMN paired_by_name text,
    ADD COLUMN pairing_reason text,
    ADD COLUMN removed_at timestamptz,
    ADD COLUMN removed_by_caller text,
    ADD COLUMN removed_by_subject text,
    ADD COLUMN removed_by_name text,
    ADD COLUMN removal_reason text;
ALTER TABLE interaction_customers DROP CONSTRAINT interaction_customers_interaction_id_customer_id_key;
CREATE UNIQUE INDEX interaction_customers_current ON interaction_customers (interaction_id, customer_id) WHERE removed_at IS NULL;
