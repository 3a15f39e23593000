DROP TRIGGER gdpr_audit_log_append_only ON gdpr_audit_log;
DROP FUNCTION gdpr_audit_log_append_only();
DROP TABLE gdpr_audit_log;
DROP TABLE gdpr_steps;
DROP TABLE gdpr_requests;
