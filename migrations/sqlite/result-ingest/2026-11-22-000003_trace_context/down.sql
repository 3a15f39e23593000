ALTER TABLE inbox_events DROP COLUMN trace_context;
