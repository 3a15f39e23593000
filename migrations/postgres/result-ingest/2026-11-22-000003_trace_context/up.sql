-- The W3C traceparent of the webhook request, so the worker continues its trace.
ALTER TABLE inbox_events ADD COLUMN trace_context text;
