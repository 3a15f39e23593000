-- Each event's channel (its record's: Genesys' media type mapped as domain::Channel maps it).
-- Events not yet processed (pending, dead) take theirs from their payload here; processed ones
-- never settle again and keep none. Since review 33 (M5) nothing reads it: the settlement queues
-- content jobs by the channel the worker wrote, since a pod of the previous version (during a
-- roll) stores none. It is still written, for a rollback to that version; kept, as migrations are
-- additive.
ALTER TABLE inbox_events ADD COLUMN channel TEXT;
UPDATE inbox_events SET channel = CASE lower(json_extract(payload, '$.mediaType'))
        WHEN 'callback' THEN 'VOICE' WHEN 'voice' THEN 'VOICE'
        WHEN 'chat' THEN 'CHAT'
        WHEN 'email' THEN 'EMAIL'
        WHEN 'message' THEN 'SMS'
        WHEN 'screenshare' THEN 'VIDEO' WHEN 'screen share' THEN 'VIDEO' WHEN 'video' THEN 'VIDEO'
        ELSE 'OTHER' END
    WHERE status <> 'processed';
