ALTER TABLE gdpr_requests DROP COLUMN last_error;
ALTER TABLE gdpr_requests DROP COLUMN dead_at;
ALTER TABLE gdpr_requests DROP COLUMN retry_since;
ALTER TABLE gdpr_requests DROP COLUMN claimed_until;
