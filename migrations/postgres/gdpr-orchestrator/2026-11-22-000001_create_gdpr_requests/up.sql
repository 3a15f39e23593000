-- GDPR data-subject requests, their per-participant steps, and the audit log.
CREATE TABLE gdpr_requests (
    id                    uuid PRIMARY KEY NOT NULL,
    request_type          text NOT NULL CHECK (request_type IN ('EXPORT', 'FORGET', 'UNDO_FORGET')),
    status                text NOT NULL,
    count_only            boolean NOT NULL,
    -- The case number in the bank's ticketing.
    reference             text NOT NULL,
    -- The authenticated caller who filed it.
    requested_by          text NOT NULL,
    -- The subject (JSON, personal data) and its keyed fingerprint: both erased once the request
    -- is finished and gdpr.identifier_retention_days have passed.
    subject               text,
    subject_fingerprint   text,
    -- UNDO_FORGET: the FORGET request it undoes.
    target_request_id     uuid,
    received_at           timestamptz NOT NULL,
    due_at                timestamptz NOT NULL,
    extension_months      INTEGER NOT NULL,
    extension_reason      text,
    confirmed_at          timestamptz,
    confirmed_by          text,
    -- FORGET: when the hidden data is purged (confirmation + grace window).
    purge_after           timestamptz,
    completed_at          timestamptz,
    identifiers_erased_at timestamptz,
    -- Why the request is blocked or failed. Never personal data.
    status_reason         text,
    attempts              INTEGER NOT NULL,
    -- When the worker next takes the request up; while a worker holds it, the end of its lease.
    next_attempt_at       timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX gdpr_requests_due ON gdpr_requests (status, next_attempt_at);
CREATE INDEX gdpr_requests_listing ON gdpr_requests (received_at, id);
CREATE INDEX gdpr_requests_fingerprint ON gdpr_requests (subject_fingerprint);

-- One row per (request, phase, participant): what each service did, with counts, never values
-- (except an export's data, personal, erased with the subject).
CREATE TABLE gdpr_steps (
    request_id   uuid NOT NULL REFERENCES gdpr_requests (id),
    phase        text NOT NULL,
    participant  text NOT NULL,
    position     INTEGER NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'pending_external', 'failed')),
    attempts     INTEGER NOT NULL,
    counts       text,
    external_ref text,
    results_urls text,
    export_data  text,
    detail       text,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (request_id, phase, participant)
);

-- Append-only: who did what to which request, when, with counts and states. No identifiers.
CREATE TABLE gdpr_audit_log (
    id         uuid PRIMARY KEY NOT NULL,
    request_id uuid NOT NULL,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    event      text NOT NULL,
    detail     text NOT NULL
);
CREATE INDEX gdpr_audit_log_request ON gdpr_audit_log (request_id, at, id);
CREATE FUNCTION gdpr_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gdpr_audit_log is append-only';
END;
$$;
CREATE TRIGGER gdpr_audit_log_append_only BEFORE UPDATE OR DELETE ON gdpr_audit_log
FOR EACH ROW EXECUTE FUNCTION gdpr_audit_log_append_only();
