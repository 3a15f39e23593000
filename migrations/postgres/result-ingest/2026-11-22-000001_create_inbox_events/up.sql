-- The durable inbox: every accepted Genesys result, until it is a communication record.
CREATE TABLE inbox_events (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL,
    user_id           uuid NOT NULL,
    wrapup_code       text NOT NULL,
    event_time        timestamptz NOT NULL,
    -- The validated webhook body (personal data: served by no listing, removed after retention).
    payload           text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'processed', 'dead')),
    attempts          integer NOT NULL,
    -- When a pending event is next due; while a worker holds it, the end of its lease.
    next_attempt_at   timestamptz NOT NULL,
    -- Why the last attempt failed, or why the event is dead. Never personal data.
    last_error        text,
    accepted_at       timestamptz NOT NULL,
    -- The retry budget runs from here (reset by a manual retry).
    budget_started_at timestamptz NOT NULL,
    processed_at      timestamptz,
    record_id         uuid,
    -- The same result delivered again is the same event.
    UNIQUE (conversation_id, user_id, wrapup_code, event_time)
);

CREATE INDEX inbox_events_due ON inbox_events (status, next_attempt_at);
CREATE INDEX inbox_events_listing ON inbox_events (status, accepted_at, id);
CREATE INDEX inbox_events_conversation ON inbox_events (conversation_id);
