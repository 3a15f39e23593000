-- Removed pairings are kept pairing.removed_retention_days, then deleted by the outbox worker's
-- housekeeping in small batches: the oldest removals are found by this index.
CREATE INDEX interaction_customers_removed_at ON interaction_customers (removed_at) WHERE removed_at IS NOT NULL;
