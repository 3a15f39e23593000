-- The durable inbox: every accepted Genesys result, until it is a communication record.
CREATE TABLE inbox_events (
    id                TEXT PRIMARY KEY NOT NULL,
    conversation_id   TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    wrapup_code       TEXT NOT NULL,
    event_time        TEXT NOT NULL,
    -- The validated webhook body (personal data: served by no listing, removed after retention).
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'dead')),
    attempts          INTEGER NOT NULL,
    -- When a pending event is next due; while a worker holds it, the end of its lease.
    next_attempt_at   TEXT NOT NULL,
    -- Why the last attempt failed, or why the event is dead. Never personal data.
    last_error        TEXT,
    accepted_at       TEXT NOT NULL,
    -- The retry budget runs from here (reset by a manual retry).
    budget_started_at TEXT NOT NULL,
    processed_at      TEXT,
    record_id         TEXT,
    -- The same result delivered again is the same event.
    UNIQUE (conversation_id, user_id, wrapup_code, event_time)
);

CREATE INDEX inbox_events_due ON inbox_events (status, next_attempt_at);
CREATE INDEX inbox_events_listing ON inbox_events (status, accepted_at, id);
CREATE INDEX inbox_events_conversation ON inbox_events (conversation_id);
