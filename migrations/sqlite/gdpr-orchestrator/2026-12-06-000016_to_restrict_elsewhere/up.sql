-- A restriction's copies delivered outside ccbridge of the rows it restricted (JSON, ids only):
-- to restrict there, never to erase (GDPR Art. 19). Cleared with the request's identifiers.
ALTER TABLE gdpr_steps ADD COLUMN to_restrict_elsewhere TEXT;
