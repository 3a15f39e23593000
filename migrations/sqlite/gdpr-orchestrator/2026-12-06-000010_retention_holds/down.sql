ALTER TABLE gdpr_steps DROP COLUMN retained_until;
ALTER TABLE gdpr_steps DROP COLUMN retention_holds;
