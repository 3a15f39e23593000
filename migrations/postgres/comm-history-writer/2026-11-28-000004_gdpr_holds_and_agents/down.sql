DROP INDEX communication_records_genesys_user_id;
ALTER TABLE communication_records DROP COLUMN agent_redacted;
ALTER TABLE communication_records DROP COLUMN genesys_user_id;
DROP TABLE gdpr_holds;
