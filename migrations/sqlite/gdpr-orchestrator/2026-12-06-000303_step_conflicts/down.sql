ALTER TABLE gdpr_steps DROP COLUMN conflicts;
