-- Back to one row per interaction and customer, without actors: removed pairings are dropped.
CREATE TABLE interaction_customers_without_actors (
    id             TEXT PRIMARY KEY NOT NULL,
    interaction_id TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    paired_at      TEXT NOT NULL,
    forgotten_by   TEXT,
    UNIQUE (interaction_id, customer_id)
);
INSERT INTO interaction_customers_without_actors (id, interaction_id, customer_id, paired_at, forgotten_by)
    SELECT id, interaction_id, customer_id, paired_at, forgotten_by FROM interaction_customers WHERE removed_at IS NULL;
DROP TABLE interaction_customers;
ALTER TABLE interaction_customers_without_actors RENAME TO interaction_customers;
CREATE INDEX interaction_customers_customer_id ON interaction_customers (customer_id);
CREATE INDEX interaction_customers_forgotten_by ON interaction_customers (forgotten_by) WHERE forgotten_by IS NOT NULL;
