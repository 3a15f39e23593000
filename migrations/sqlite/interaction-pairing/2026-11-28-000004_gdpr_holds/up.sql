-- GDPR holds: which FORGET requests hold which rows. Two FORGETs can cover one row (one by
-- phone number, one by customer id): the row stays hidden while any holds it, undoing one lifts
-- only its own hold, and a purge deletes what it holds. forgotten_by stays on the rows as one of
-- their holders (null: visible), kept in step by the service, so read paths and indexes are as
-- they were.
CREATE TABLE gdpr_holds (
    request_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, row_id)
);
CREATE INDEX gdpr_holds_row ON gdpr_holds (kind, row_id);
INSERT INTO gdpr_holds (request_id, kind, row_id)
    SELECT forgotten_by, 'pairing', interaction_id FROM support_interactions WHERE forgotten_by IS NOT NULL;
INSERT INTO gdpr_holds (request_id, kind, row_id)
    SELECT forgotten_by, 'assignment', id FROM pairing_outbox WHERE forgotten_by IS NOT NULL;
