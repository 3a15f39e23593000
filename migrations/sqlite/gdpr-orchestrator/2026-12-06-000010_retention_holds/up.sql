-- A purge step's legal holds in force when it ran (JSON ids: it runs again when one ends) and the
-- earliest end of a statutory rule over what it kept (it runs again then).
ALTER TABLE gdpr_steps ADD COLUMN retention_holds TEXT;
ALTER TABLE gdpr_steps ADD COLUMN retained_until text;
