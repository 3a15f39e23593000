-- RESTRICT and LIFT_RESTRICTION (GDPR Art. 18) among the request types.
ALTER TABLE gdpr_requests
    DROP CONSTRAINT gdpr_requests_request_type_check,
    ADD CONSTRAINT gdpr_requests_request_type_check
        CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET', 'RESTRICT', 'LIFT_RESTRICTION'));
