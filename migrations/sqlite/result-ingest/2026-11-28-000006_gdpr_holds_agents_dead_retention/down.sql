ALTER TABLE inbox_events DROP COLUMN dead_at;
DROP INDEX inbox_events_user_id;
ALTER TABLE inbox_events DROP COLUMN agent_redacted;
DROP TABLE gdpr_holds;
