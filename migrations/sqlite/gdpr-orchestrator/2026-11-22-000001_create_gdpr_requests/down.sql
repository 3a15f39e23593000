DROP TRIGGER gdpr_audit_log_no_delete;
DROP TRIGGER gdpr_audit_log_no_update;
DROP TABLE gdpr_audit_log;
DROP TABLE gdpr_steps;
DROP TABLE gdpr_requests;
