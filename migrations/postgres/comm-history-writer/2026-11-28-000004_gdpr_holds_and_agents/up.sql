-- GDPR holds: which FORGET requests hold which rows. Two FORGETs can cover one record (one by
-- phone number, one by customer id): it stays hidden while any holds it, undoing one lifts only
-- its own hold, and a purge deletes what it holds. forgotten_by stays on the record as one of its
-- holders (null: visible), kept in step by the service, so read paths and indexes are as they were.
CREATE TABLE gdpr_holds (
    request_id uuid NOT NULL,
    kind       text NOT NULL,
    row_id     uuid NOT NULL,
    PRIMARY KEY (request_id, kind, row_id)
);
CREATE INDEX gdpr_holds_row ON gdpr_holds (kind, row_id);
INSERT INTO gdpr_holds (request_id, kind, row_id)
    SELECT forgotten_by, 'record', id FROM communication_records WHERE forgotten_by IS NOT NULL;

-- Agents are data subjects too: their Genesys user id finds the records they handled (a name is no
-- identifier). A FORGET of an agent keeps the customer's record and hides the agent on it
-- (agent_redacted, while a hold of kind 'agent' is on the record); its purge blanks them.
ALTER TABLE communication_records ADD COLUMN genesys_user_id uuid;
ALTER TABLE communication_records ADD COLUMN agent_redacted boolean NOT NULL DEFAULT false;
CREATE INDEX communication_records_genesys_user_id ON communication_records (genesys_user_id) WHERE genesys_user_id IS NOT NULL;
