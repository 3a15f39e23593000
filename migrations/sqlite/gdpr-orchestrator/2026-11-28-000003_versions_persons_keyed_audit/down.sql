DROP TRIGGER gdpr_audit_keying_no_delete;
DROP TRIGGER gdpr_audit_keying_no_update;
DROP TABLE gdpr_audit_keying;
ALTER TABLE gdpr_audit_log DROP COLUMN keyed;
ALTER TABLE gdpr_audit_log DROP COLUMN caller;
ALTER TABLE gdpr_steps DROP COLUMN left_out;
ALTER TABLE gdpr_requests DROP COLUMN confirmed_via;
ALTER TABLE gdpr_requests DROP COLUMN requested_via;
ALTER TABLE gdpr_requests DROP COLUMN version;
