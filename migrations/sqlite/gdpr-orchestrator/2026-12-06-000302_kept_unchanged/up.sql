-- A RECTIFY's count and rectify: what a legal hold or a statutory rule kept as evidence, left
-- unchanged (JSON counts per category and basis).
ALTER TABLE gdpr_steps ADD COLUMN kept_unchanged TEXT;
