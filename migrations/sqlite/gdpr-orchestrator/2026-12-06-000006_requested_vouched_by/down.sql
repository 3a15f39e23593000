ALTER TABLE gdpr_requests DROP COLUMN requested_vouched_by;
