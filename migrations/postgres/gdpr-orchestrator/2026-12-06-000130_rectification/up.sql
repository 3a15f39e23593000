-- RECTIFY (GDPR Art. 16) among the request types, and its correction (JSON, personal data:
-- erased with the subject).
ALTER TABLE gdpr_requests
    DROP CONSTRAINT gdpr_requests_request_type_check,
    ADD CONSTRAINT gdpr_requests_request_type_check
        CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET', 'RESTRICT', 'LIFT_RESTRICTION', 'RECTIFY'));
ALTER TABLE gdpr_requests ADD COLUMN rectification text;
