-- Current pairings are kept pairing.retention_days after they were made, then deleted by the
-- outbox worker's housekeeping in small batches, oldest first by (paired_at, id): this index
-- reads just a batch.
CREATE INDEX interaction_customers_paired_at ON interaction_customers (paired_at, id) WHERE removed_at IS NULL;
