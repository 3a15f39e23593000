ALTER TABLE gdpr_audit_log DROP COLUMN actor_name;
