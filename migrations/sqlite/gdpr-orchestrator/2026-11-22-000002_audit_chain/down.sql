DROP INDEX gdpr_audit_log_chain;
ALTER TABLE gdpr_audit_log DROP COLUMN entry_hash;
ALTER TABLE gdpr_audit_log DROP COLUMN previous_hash;
ALTER TABLE gdpr_audit_log DROP COLUMN sequence;
