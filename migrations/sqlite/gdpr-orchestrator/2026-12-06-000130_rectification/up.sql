-- RECTIFY (GDPR Art. 16) among the request types, and its correction (JSON, personal data:
-- erased with the subject). SQLite cannot change a CHECK constraint in place: the table is
-- rebuilt as 2026-12-06-000015_restriction did (foreign keys off meanwhile, so the rows of
-- gdpr_steps and gdpr_request_verifications stay; hence outside diesel's transaction, see
-- metadata.toml), with its columns and indexes as the earlier migrations left them.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE gdpr_requests_rebuilt (
    id                    TEXT PRIMARY KEY NOT NULL,
    request_type          TEXT NOT NULL CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET', 'RESTRICT', 'LIFT_RESTRICTION', 'RECTIFY')),
    status                TEXT NOT NULL,
    count_only            BOOLEAN NOT NULL,
    -- The case number in the bank's ticketing.
    reference             TEXT NOT NULL,
    -- The authenticated caller who filed it.
    requested_by          TEXT NOT NULL,
    -- The subject (JSON, personal data) and its keyed fingerprint: both erased once the request
    -- is finished and gdpr.identifier_retention_days have passed.
    subject               TEXT,
    subject_fingerprint   TEXT,
    -- UNDO_FORGET: the FORGET request it undoes; LIFT_RESTRICTION: the RESTRICT it lifts.
    target_request_id     TEXT,
    received_at           TEXT NOT NULL,
    due_at                TEXT NOT NULL,
    extension_months      INTEGER NOT NULL,
    extension_reason      TEXT,
    confirmed_at          TEXT,
    confirmed_by          TEXT,
    -- FORGET: when the hidden data is purged (confirmation + grace window).
    purge_after           TEXT,
    completed_at          TEXT,
    identifiers_erased_at TEXT,
    -- Why the request is blocked or failed. Never personal data.
    status_reason         TEXT,
    attempts              INTEGER NOT NULL,
    -- When the worker next takes the request up; while a worker holds it, the end of its lease.
    next_attempt_at       TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    version               INTEGER NOT NULL DEFAULT 0,
    requested_via         TEXT NOT NULL DEFAULT '',
    confirmed_via         TEXT,
    requested_vouched_by  TEXT,
    claimed_until         TEXT,
    retry_since           TEXT,
    dead_at               TEXT,
    last_error            TEXT,
    -- The language of the subject's readable answer (null: filed before it was recorded).
    answer_language       TEXT,
    -- A RECTIFY's correction (JSON, personal data): erased with the subject.
    rectification         TEXT
);
INSERT INTO gdpr_requests_rebuilt (
    id, request_type, status, count_only, reference, requested_by, subject, subject_fingerprint,
    target_request_id, received_at, due_at, extension_months, extension_reason, confirmed_at,
    confirmed_by, purge_after, completed_at, identifiers_erased_at, status_reason, attempts,
    next_attempt_at, updated_at, version, requested_via, confirmed_via, requested_vouched_by,
    claimed_until, retry_since, dead_at, last_error, answer_language
)
SELECT
    id, request_type, status, count_only, reference, requested_by, subject, subject_fingerprint,
    target_request_id, received_at, due_at, extension_months, extension_reason, confirmed_at,
    confirmed_by, purge_after, completed_at, identifiers_erased_at, status_reason, attempts,
    next_attempt_at, updated_at, version, requested_via, confirmed_via, requested_vouched_by,
    claimed_until, retry_since, dead_at, last_error, answer_language
FROM gdpr_requests;
DROP TABLE gdpr_requests;
ALTER TABLE gdpr_requests_rebuilt RENAME TO gdpr_requests;
CREATE INDEX gdpr_requests_due ON gdpr_requests (status, next_attempt_at);
CREATE INDEX gdpr_requests_listing ON gdpr_requests (received_at, id);
CREATE INDEX gdpr_requests_fingerprint ON gdpr_requests (subject_fingerprint);
COMMIT;
PRAGMA foreign_keys = ON;
