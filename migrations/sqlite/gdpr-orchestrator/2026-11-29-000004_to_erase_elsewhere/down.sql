ALTER TABLE gdpr_steps DROP COLUMN to_erase_elsewhere;
