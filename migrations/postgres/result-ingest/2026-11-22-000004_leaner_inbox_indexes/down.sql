DROP INDEX inbox_events_due;
CREATE INDEX inbox_events_due ON inbox_events (status, next_attempt_at);
DROP INDEX inbox_events_forgotten_by;
CREATE INDEX inbox_events_forgotten_by ON inbox_events (forgotten_by);
CREATE INDEX inbox_events_conversation ON inbox_events (conversation_id);
