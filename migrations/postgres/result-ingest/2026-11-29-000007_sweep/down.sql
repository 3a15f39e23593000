ALTER TABLE inbox_events DROP COLUMN confirmed_at;
DROP TABLE sweeper;
DROP TABLE sweeps;
ALTER TABLE inbox_events DROP COLUMN origin;
DROP INDEX inbox_events_result;
ALTER TABLE inbox_events ADD CONSTRAINT inbox_events_conversation_id_user_id_wrapup_code_event_time_key
    UNIQUE (conversation_id, user_id, wrapup_code, event_time);
