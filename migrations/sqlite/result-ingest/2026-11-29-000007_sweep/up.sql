-- A result is the same result when its conversation, agent and wrap-up code match, whatever
-- event time each delivery carries (the sweep reads the wrap-up's end from analytics, the
-- webhook its own clock). Results stored twice under the old identity keep one event: a
-- processed one first, then the earliest; the others' GDPR holds move to it.
CREATE TEMPORARY TABLE result_duplicates AS
    SELECT id AS duplicate_id,
           first_value(id) OVER (PARTITION BY conversation_id, user_id, wrapup_code
                                 ORDER BY CASE status WHEN 'processed' THEN 0 ELSE 1 END, accepted_at, id) AS kept_id
    FROM inbox_events;
DELETE FROM result_duplicates WHERE duplicate_id = kept_id;
INSERT INTO gdpr_holds (request_id, kind, row_id)
    SELECT h.request_id, h.kind, d.kept_id FROM gdpr_holds h JOIN result_duplicates d ON h.row_id = d.duplicate_id WHERE true
    ON CONFLICT DO NOTHING;
UPDATE inbox_events SET forgotten_by = (SELECT h.request_id FROM gdpr_holds h
                                        WHERE h.kind = 'event' AND h.row_id = inbox_events.id LIMIT 1)
    WHERE forgotten_by IS NULL AND id IN (SELECT kept_id FROM result_duplicates);
UPDATE inbox_events SET agent_redacted = 1
    WHERE id IN (SELECT d.kept_id FROM result_duplicates d JOIN inbox_events e ON e.id = d.duplicate_id
                 WHERE e.agent_redacted);
DELETE FROM gdpr_holds WHERE row_id IN (SELECT duplicate_id FROM result_duplicates);
DELETE FROM inbox_events WHERE id IN (SELECT duplicate_id FROM result_duplicates);
DROP TABLE result_duplicates;
-- (SQLite keeps its old unique index on the four columns: it cannot drop a table's constraint.)
CREATE UNIQUE INDEX inbox_events_result ON inbox_events (conversation_id, user_id, wrapup_code);

-- Who brought the result: Genesys' webhook, or the sweep that found it in analytics.
ALTER TABLE inbox_events ADD COLUMN origin TEXT NOT NULL DEFAULT 'webhook' CHECK (origin IN ('webhook', 'sweep'));
-- When the sweep first found a result the webhook had delivered (confirmed it).
ALTER TABLE inbox_events ADD COLUMN confirmed_at TEXT;

-- Sweeps: windows of conversation start times read from Genesys' analytics, a page at a time.
-- No personal data: windows, progress and counts.
CREATE TABLE sweeps (
    id              TEXT PRIMARY KEY NOT NULL,
    -- 'schedule' (every ingest.sweep_interval_seconds) or 'operator' (POST /ingest/sweeps).
    origin          TEXT NOT NULL CHECK (origin IN ('schedule', 'operator')),
    -- The caller (and the person it acted for) who asked; null for the schedule.
    requested_by    TEXT,
    started_from    TEXT NOT NULL,
    started_before  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done')),
    -- Conversations that started before cursor_at are read; the next page is cursor_page of
    -- those from cursor_at on.
    cursor_at       TEXT NOT NULL,
    cursor_page     INTEGER NOT NULL,
    -- The earliest start of a conversation read but not yet settled: the sweep's watermark
    -- stays there until it is read again.
    held_at         TEXT,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    pages           INTEGER NOT NULL DEFAULT 0,
    requests        INTEGER NOT NULL DEFAULT 0,
    conversations   INTEGER NOT NULL DEFAULT 0,
    results         INTEGER NOT NULL DEFAULT 0,
    recovered       INTEGER NOT NULL DEFAULT 0,
    confirmed       INTEGER NOT NULL DEFAULT 0,
    suppressed      INTEGER NOT NULL DEFAULT 0,
    unusable        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);
-- At most one scheduled sweep is open at a time, whichever replica schedules it.
CREATE UNIQUE INDEX sweeps_one_open_schedule ON sweeps (origin) WHERE origin = 'schedule' AND status <> 'done';
CREATE INDEX sweeps_listing ON sweeps (created_at, id);
CREATE INDEX sweeps_open ON sweeps (next_attempt_at) WHERE status <> 'done';

-- The sweeper's lease (one replica sweeps at a time, so the Genesys budget it spends is one
-- budget) and the schedule's watermark: every conversation that started before it and ended
-- ingest.sweep_settle_seconds ago has been read.
CREATE TABLE sweeper (
    name         TEXT PRIMARY KEY NOT NULL,
    holder       TEXT,
    leased_until TEXT,
    watermark    TEXT
);
INSERT INTO sweeper (name) VALUES ('sweeper');
