-- Back to one row per interaction and customer, without actors: removed pairings are dropped.
DELETE FROM interaction_customers WHERE removed_at IS NOT NULL;
DROP INDEX interaction_customers_current;
ALTER TABLE interaction_customers ADD CONSTRAINT interaction_customers_interaction_id_customer_id_key UNIQUE (interaction_id, customer_id);
ALTER TABLE interaction_customers
    DROP COLUMN paired_by_caller,
    DROP COLUMN paired_by_subject,
    DROP COLUMN paired_by_name,
    DROP COLUMN pairing_reason,
    DROP COLUMN removed_at,
    DROP COLUMN removed_by_caller,
    DROP COLUMN removed_by_subject,
    DROP COLUMN removed_by_name,
    DROP COLUMN removal_reason;
