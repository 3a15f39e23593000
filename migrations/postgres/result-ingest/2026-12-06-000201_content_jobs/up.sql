-- The content queue (crate::content): for each record written of a channel whose content is on
-- (ingest.content.channels), what was said or written is fetched through the gateway and set as
-- the record's body at comm-history-writer. Keyed by the record: an inbox batch run again after a
-- crash queues nothing twice; a done job is kept ingest.retention_days for that. How jobs ended
-- is counted (ccbridge_ingest_content_total{outcome}). Ids only: the text is never stored here.
CREATE TABLE content_jobs (
    record_id uuid PRIMARY KEY,
    interaction_id uuid NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Pending: when it is due; while claimed, the lease's end.
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    retried_at timestamptz,
    ended_at timestamptz,
    dead_at timestamptz,
    last_error TEXT
);
CREATE INDEX content_jobs_due ON content_jobs (next_attempt_at) WHERE status = 'pending';
CREATE INDEX content_jobs_dead ON content_jobs (dead_at) WHERE status = 'dead';
CREATE INDEX content_jobs_ended ON content_jobs (ended_at) WHERE status = 'done';
CREATE INDEX content_jobs_interaction ON content_jobs (interaction_id);
