-- Every index is written on every accepted result; keep only those that earn it, and make the
-- worker's claim read no more than the batch it takes.

-- The unique (conversation_id, user_id, wrapup_code, event_time) index already serves lookups by
-- conversation.
DROP INDEX inbox_events_conversation;

-- Only forgotten rows are looked up by forgotten_by: a partial index costs nothing on accept.
DROP INDEX inbox_events_forgotten_by;
CREATE INDEX inbox_events_forgotten_by ON inbox_events (forgotten_by) WHERE forgotten_by IS NOT NULL;

-- The claim takes the oldest due events. Over (status, next_attempt_at) the planner, whose
-- statistics lag an inbox that grows by thousands of rows a second, chose a bitmap scan and a
-- sort of every pending row for each batch. This index holds exactly the claimable rows in
-- claim order (the claim states the same predicate with literals, so that it matches).
DROP INDEX inbox_events_due;
CREATE INDEX inbox_events_due ON inbox_events (next_attempt_at) WHERE status = 'pending' AND forgotten_by IS NULL;
