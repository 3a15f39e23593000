-- A purge's retained counts per category and basis (JSON), what a legal hold kept.
ALTER TABLE gdpr_steps ADD COLUMN retained TEXT;
