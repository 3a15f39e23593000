-- GDPR data-subject requests, their per-participant steps, and the audit log.
CREATE TABLE gdpr_requests (
    id                    TEXT PRIMARY KEY NOT NULL,
    request_type          TEXT NOT NULL CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET')),
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
    -- UNDO_FORGET: the FORGET request it undoes.
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
    updated_at            TEXT NOT NULL
);
CREATE INDEX gdpr_requests_due ON gdpr_requests (status, next_attempt_at);
CREATE INDEX gdpr_requests_listing ON gdpr_requests (received_at, id);
CREATE INDEX gdpr_requests_fingerprint ON gdpr_requests (subject_fingerprint);

-- One row per (request, phase, participant): what each service did, with counts, never values
-- (except an export's data, personal, erased with the subject).
CREATE TABLE gdpr_steps (
    request_id   TEXT NOT NULL REFERENCES gdpr_requests (id),
    phase        TEXT NOT NULL,
    participant  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'pending_external', 'failed')),
    attempts     INTEGER NOT NULL,
    counts       TEXT,
    external_ref TEXT,
    results_urls TEXT,
    export_data  TEXT,
    detail       TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (request_id, phase, participant)
);

-- Append-only: who did what to which request, when, with counts and states. No identifiers.
CREATE TABLE gdpr_audit_log (
    id         TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    event      TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX gdpr_audit_log_request ON gdpr_audit_log (request_id, at, id);
CREATE TRIGGER gdpr_audit_log_no_update BEFORE UPDATE ON gdpr_audit_log
BEGIN SELECT RAISE(ABORT, 'gdpr_audit_log is append-only'); END;
CREATE TRIGGER gdpr_audit_log_no_delete BEFORE DELETE ON gdpr_audit_log
BEGIN SELECT RAISE(ABORT, 'gdpr_audit_log is append-only'); END;
