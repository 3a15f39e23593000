-- A forget's copies of the subject's data a participant delivered outside ccbridge (ids only), for
-- the data protection officer to erase there; erased with the request's identifiers.
ALTER TABLE gdpr_steps ADD COLUMN to_erase_elsewhere text;
