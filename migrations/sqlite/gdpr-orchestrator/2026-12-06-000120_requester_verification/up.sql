-- How a request's requester was verified (issue #31), recorded once: the method, a reference to
-- the evidence in the bank's records (erased with the request's identifiers: it points to the
-- subject), the person the identity provider signed in who recorded it (subject and display
-- name), the client they came through, and when.
CREATE TABLE gdpr_request_verifications (
    request_id         TEXT PRIMARY KEY NOT NULL REFERENCES gdpr_requests (id),
    method             TEXT NOT NULL,
    evidence_reference TEXT,
    verified_by        TEXT NOT NULL,
    verified_by_name   TEXT,
    verified_via       TEXT NOT NULL,
    verified_at        TEXT NOT NULL
);
-- The language the subject's readable answer is written in (null: filed before it was recorded;
-- gdpr.answer_language then).
ALTER TABLE gdpr_requests ADD COLUMN answer_language TEXT;
