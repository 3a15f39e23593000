-- GDPR holds: which FORGET requests hold which events. Two FORGETs can cover one event (one by
-- phone number, one by customer id): it stays hidden while any holds it, undoing one lifts only
-- its own hold, and a purge deletes what it holds. forgotten_by stays on the event as one of its
-- holders (null: visible), kept in step by the service, so the claim and its index are as they
-- were.
CREATE TABLE gdpr_holds (
    request_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, row_id)
);
CREATE INDEX gdpr_holds_row ON gdpr_holds (kind, row_id);
INSERT INTO gdpr_holds (request_id, kind, row_id)
    SELECT forgotten_by, 'event', id FROM inbox_events WHERE forgotten_by IS NOT NULL;

-- A FORGET of an agent keeps the customer's result: the agent is left off its record
-- (agent_redacted, while a hold of kind 'agent' is on the event; for good after the purge).
ALTER TABLE inbox_events ADD COLUMN agent_redacted BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX inbox_events_user_id ON inbox_events (user_id);

-- Dead letters are personal data too: kept ingest.dead_retention_days from when they died.
-- Those dead before this migration count from now.
ALTER TABLE inbox_events ADD COLUMN dead_at TEXT;
UPDATE inbox_events SET dead_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z' WHERE status = 'dead';
