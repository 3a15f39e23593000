-- A RECTIFY's count: per field pointer of the correction (/phoneNumbers/0/to), the rows or the
-- Genesys subjects not the subject's already holding that value (JSON counts, never values). The
-- confirmation is refused while any is above zero.
ALTER TABLE gdpr_steps ADD COLUMN conflicts TEXT;
