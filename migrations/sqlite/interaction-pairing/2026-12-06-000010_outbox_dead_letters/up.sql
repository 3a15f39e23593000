-- The outbox gains dead letters (service_kit::queue): an entry comm-history-writer refuses (a 4xx
-- but 408/429), or that is out of its budget (pairing.retry_budget), is dead from dead_at until an
-- operator retries it (POST /pairing-outbox/{id}/retry); retried_at starts its budget anew. Dead
-- letters are deleted pairing.dead_retention_days after they died.
ALTER TABLE pairing_outbox ADD COLUMN dead_at TEXT;
ALTER TABLE pairing_outbox ADD COLUMN retried_at TEXT;
CREATE INDEX pairing_outbox_dead ON pairing_outbox (dead_at) WHERE dead_at IS NOT NULL;
CREATE INDEX pairing_outbox_listed ON pairing_outbox (created_at, id);
