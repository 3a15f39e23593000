-- Each event's channel (its record's: Genesys' media type mapped as domain::Channel maps it), so
-- that the settlement of a batch queues the content jobs of its records (crate::content) in the
-- statement that marks the events processed. Events not yet processed (pending, dead) take theirs
-- from their payload here; processed ones never settle again and keep none.
ALTER TABLE inbox_events ADD COLUMN channel TEXT;
UPDATE inbox_events SET channel = CASE lower(payload::jsonb ->> 'mediaType')
        WHEN 'callback' THEN 'VOICE' WHEN 'voice' THEN 'VOICE'
        WHEN 'chat' THEN 'CHAT'
        WHEN 'email' THEN 'EMAIL'
        WHEN 'message' THEN 'SMS'
        WHEN 'screenshare' THEN 'VIDEO' WHEN 'screen share' THEN 'VIDEO' WHEN 'video' THEN 'VIDEO'
        ELSE 'OTHER' END
    WHERE status <> 'processed';
