-- Nothing read the person's subject and roles in the clear: the sealed state holds them. What the
-- table keeps instead: whether a person is signed in (a row of a sign-in under way lives 10
-- minutes), the state's generation (bumped at every write) and, while one request renews the
-- provider's tokens, until when it holds that renewal (a compare-and-set: no second refresh with
-- the same refresh token).
ALTER TABLE console_sessions DROP COLUMN subject;
ALTER TABLE console_sessions DROP COLUMN roles;
ALTER TABLE console_sessions ADD COLUMN signed_in boolean NOT NULL DEFAULT false;
ALTER TABLE console_sessions ADD COLUMN generation bigint NOT NULL DEFAULT 0;
ALTER TABLE console_sessions ADD COLUMN renewing_until timestamptz;
