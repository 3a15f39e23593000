-- Back to five request types: the RECTIFYs go, with their steps and verifications (the audit
-- log is append-only and keeps their entries).
DELETE FROM gdpr_steps WHERE request_id IN (SELECT id FROM gdpr_requests WHERE request_type = 'RECTIFY');
DELETE FROM gdpr_request_verifications WHERE request_id IN (SELECT id FROM gdpr_requests WHERE request_type = 'RECTIFY');
DELETE FROM gdpr_requests WHERE request_type = 'RECTIFY';
ALTER TABLE gdpr_requests DROP COLUMN rectification;
ALTER TABLE gdpr_requests
    DROP CONSTRAINT gdpr_requests_request_type_check,
    ADD CONSTRAINT gdpr_requests_request_type_check
        CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET', 'RESTRICT', 'LIFT_RESTRICTION'));
