-- An attempt whose request is out to the communication-history-manager, until its lease ends: set
-- with the record's row locked after the holds were checked, cleared when the attempt settles. A
-- GDPR forget that comes meanwhile waits for it (its step pending) and then names the copy the
-- manager answered with.
ALTER TABLE delivery_outbox ADD COLUMN sending_until timestamptz;
