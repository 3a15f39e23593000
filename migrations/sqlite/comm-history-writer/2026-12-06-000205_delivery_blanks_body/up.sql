-- An update a purge queued for a record it keeps for a statutory rule alone, whose body (what was
-- said) it blanked: the one entry of a held record that goes out, so that the communication-
-- history-manager's copy loses the body too (everything else of the record stays held here).
ALTER TABLE delivery_outbox ADD COLUMN blanks_body BOOLEAN NOT NULL DEFAULT 0;
