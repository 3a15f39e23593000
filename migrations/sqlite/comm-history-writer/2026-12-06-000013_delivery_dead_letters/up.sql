-- The delivery outbox on the one queue (service_kit::queue): dead_at is when an entry became a
-- dead letter (for delivery.dead_retention_days, when set), retried_at when an operator retried
-- it (its retry budget begins anew). Dead letters from before are dated at their creation.
-- Operators list entries by (created_at, id).
ALTER TABLE delivery_outbox ADD COLUMN dead_at TEXT;
ALTER TABLE delivery_outbox ADD COLUMN retried_at TEXT;
UPDATE delivery_outbox SET dead_at = created_at WHERE status = 'dead';
CREATE INDEX delivery_outbox_listed ON delivery_outbox (status, created_at, id);
