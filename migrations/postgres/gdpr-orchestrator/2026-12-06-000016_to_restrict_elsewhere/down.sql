ALTER TABLE gdpr_steps DROP COLUMN to_restrict_elsewhere;
