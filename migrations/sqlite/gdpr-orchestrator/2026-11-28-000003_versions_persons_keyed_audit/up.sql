-- Every change of a request is conditional on the version its writer read: a worker whose lease
-- ran out, or a route racing the worker, never overwrites what another wrote.
ALTER TABLE gdpr_requests ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- Who filed and who confirmed: the person, and the client they came through (a client that signs
-- people in, such as the console, names them in X-Acting-User).
ALTER TABLE gdpr_requests ADD COLUMN requested_via TEXT NOT NULL DEFAULT '';
UPDATE gdpr_requests SET requested_via = requested_by;
ALTER TABLE gdpr_requests ADD COLUMN confirmed_via TEXT;
UPDATE gdpr_requests SET confirmed_via = confirmed_by WHERE confirmed_by IS NOT NULL;

-- What a participant left out (a shared number reached another customer's rows): counts only.
ALTER TABLE gdpr_steps ADD COLUMN left_out TEXT;

-- The audit log names the client beside the person, and its chain is keyed (HMAC with
-- gdpr.audit_key), so a chain recomputed without the key does not verify. Entries written before
-- this migration keep their plain SHA-256 links: accepted only from before keyed_since.
ALTER TABLE gdpr_audit_log ADD COLUMN caller TEXT;
ALTER TABLE gdpr_audit_log ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE gdpr_audit_keying (
    keyed_since TEXT NOT NULL
);
INSERT INTO gdpr_audit_keying (keyed_since) VALUES (strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z');
CREATE TRIGGER gdpr_audit_keying_no_update BEFORE UPDATE ON gdpr_audit_keying
BEGIN SELECT RAISE(ABORT, 'gdpr_audit_keying is append-only'); END;
CREATE TRIGGER gdpr_audit_keying_no_delete BEFORE DELETE ON gdpr_audit_keying
BEGIN SELECT RAISE(ABORT, 'gdpr_audit_keying is append-only'); END;
