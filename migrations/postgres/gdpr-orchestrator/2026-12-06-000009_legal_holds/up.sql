-- Legal holds (issue #30): data the bank must keep whatever an erasure would do. One row a hold;
-- its story is in gdpr_audit_log under the hold's id. Never an identifier outside `subject`.
CREATE TABLE legal_holds (
    id                           uuid PRIMARY KEY NOT NULL,
    -- 'ended' is never stored: a hold whose ends_at has passed reads as ended (derived at read,
    -- so it cannot lag behind the clock).
    status                       TEXT NOT NULL CHECK (status IN ('active', 'release_requested', 'released')),
    -- The matter in the bank's case management (never personal data) and why, for the next DPO.
    reference                    TEXT NOT NULL,
    reason                       TEXT NOT NULL,
    basis                        TEXT NOT NULL CHECK (basis IN ('legal_claims', 'legal_obligation', 'authority_request')),
    -- Whose data (JSON, personal data, normalised as a request's subject): kept while the hold
    -- is kept.
    subject                      TEXT NOT NULL,
    -- Only communications from window_from (inclusive) to window_to (exclusive); null: open.
    window_from                  timestamptz,
    window_to                    timestamptz,
    -- When the hold ends by itself; null: until released.
    ends_at                      timestamptz,
    -- Who placed it (the person's subject at the identity provider, or the client acting as
    -- itself), the client they came through, and what vouched for them.
    placed_by                    TEXT NOT NULL,
    placed_via                   TEXT NOT NULL,
    placed_vouched_by            TEXT NOT NULL,
    placed_at                    timestamptz NOT NULL,
    -- The first of two persons releasing it (cleared when they withdraw), and the second.
    release_requested_by         TEXT,
    release_requested_via        TEXT,
    release_requested_vouched_by TEXT,
    release_requested_at         timestamptz,
    release_reason               TEXT,
    released_by                  TEXT,
    released_via                 TEXT,
    released_vouched_by          TEXT,
    released_at                  timestamptz,
    released_reason              TEXT,
    updated_at                   timestamptz NOT NULL,
    -- Every change is conditional on the version its writer read.
    version                      INTEGER NOT NULL
);
CREATE INDEX legal_holds_listing ON legal_holds (placed_at, id);
CREATE INDEX legal_holds_in_force ON legal_holds (status, ends_at);
