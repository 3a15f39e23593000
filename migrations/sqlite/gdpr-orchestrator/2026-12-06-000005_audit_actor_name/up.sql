-- The person's display name as the identity provider gives it (or the development name), next
-- to their subject in `actor`; null for entries before it was recorded and for the orchestrator's
-- own work. Covered by the entry's keyed link when present.
ALTER TABLE gdpr_audit_log ADD COLUMN actor_name text;
