-- Back to three request types: the RESTRICTs and LIFT_RESTRICTIONs go, with their steps (the
-- audit log is append-only and keeps their entries).
DELETE FROM gdpr_steps WHERE request_id IN (
    SELECT id FROM gdpr_requests WHERE request_type IN ('RESTRICT', 'LIFT_RESTRICTION')
);
DELETE FROM gdpr_requests WHERE request_type IN ('RESTRICT', 'LIFT_RESTRICTION');
ALTER TABLE gdpr_requests
    DROP CONSTRAINT gdpr_requests_request_type_check,
    ADD CONSTRAINT gdpr_requests_request_type_check
        CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET'));
