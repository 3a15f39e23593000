-- The last records' expiry round (comm_history_writer::expiry), whichever replica ran it: when,
-- whether it ran or was skipped (gdpr-orchestrator could not be asked for the holds in force),
-- and how many records it erased and kept. Counts only. One row, replaced by every round; the
-- DPOs' Retention page reads it (GET /communicationRecords/retention).
CREATE TABLE records_expiry_rounds (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    ran_at  TIMESTAMPTZ NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ran', 'skipped')),
    expired BIGINT NOT NULL,
    kept    BIGINT NOT NULL
);
