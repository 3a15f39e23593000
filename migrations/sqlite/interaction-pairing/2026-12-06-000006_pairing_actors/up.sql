-- Pairings in the name of who made them: the caller (the client, e.g. the console), the person
-- it acted for (the provider's subject and display name; none when a machine acted as itself),
-- and why, when a reason was given. A removed pairing is kept, with who removed it, when and
-- why: only a current pairing (removed_at null) is unique per interaction and customer, so the
-- same customer can be paired again after a removal. Rows from before hold no actors (null).
-- SQLite cannot drop a table's UNIQUE constraint: the table is rebuilt.
CREATE TABLE interaction_customers_with_actors (
    id                  TEXT PRIMARY KEY NOT NULL,
    interaction_id      TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    paired_at           TEXT NOT NULL,
    forgotten_by        TEXT,
    paired_by_caller    TEXT,
    paired_by_subject   TEXT,
    paired_by_name      TEXT,
    pairing_reason      TEXT,
    removed_at          TEXT,
    removed_by_caller   TEXT,
    removed_by_subject  TEXT,
    removed_by_name     TEXT,
    removal_reason      TEXT
);
INSERT INTO interaction_customers_with_actors (id, interaction_id, customer_id, paired_at, forgotten_by)
    SELECT id, interaction_id, customer_id, paired_at, forgotten_by FROM interaction_customers;
DROP TABLE interaction_customers;
ALTER TABLE interaction_customers_with_actors RENAME TO interaction_customers;
CREATE UNIQUE INDEX interaction_customers_current ON interaction_customers (interaction_id, customer_id) WHERE removed_at IS NULL;
CREATE INDEX interaction_customers_customer_id ON interaction_customers (customer_id);
CREATE INDEX interaction_customers_forgotten_by ON interaction_customers (forgotten_by) WHERE forgotten_by IS NOT NULL;
