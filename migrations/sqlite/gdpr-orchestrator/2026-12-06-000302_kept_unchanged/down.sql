ALTER TABLE gdpr_steps DROP COLUMN kept_unchanged;
