-- Tamper evidence for the audit log: each request's entries form a hash chain (entry n holds the
-- hash of entry n-1), so an edit made around the append-only triggers shows when the chain is
-- verified. Entries written before this migration have no link.
ALTER TABLE gdpr_audit_log ADD COLUMN sequence INTEGER;
ALTER TABLE gdpr_audit_log ADD COLUMN previous_hash TEXT;
ALTER TABLE gdpr_audit_log ADD COLUMN entry_hash TEXT;
CREATE UNIQUE INDEX gdpr_audit_log_chain ON gdpr_audit_log (request_id, sequence);
