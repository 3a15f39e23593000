ALTER TABLE gdpr_requests DROP COLUMN answer_language;
DROP TABLE gdpr_request_verifications;
