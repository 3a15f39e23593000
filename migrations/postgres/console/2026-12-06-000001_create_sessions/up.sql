-- The console's sessions: the cookie holds a random session id, this table its SHA-256 digest
-- (never the id itself), so a restart or a second replica knows the session, and sign-out, the
-- session's age and its idle time end it here, whatever cookie a browser still holds.
CREATE TABLE console_sessions (
    id_digest    text PRIMARY KEY,
    -- The provider's subject and the console roles (space-separated); empty while a sign-in is
    -- only under way.
    subject      text,
    roles        text NOT NULL,
    -- The session's state (the person, the form token, the provider's tokens), encrypted with
    -- AES-256-GCM under a key derived from console.session_key.
    state        text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at     timestamptz
);

CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
