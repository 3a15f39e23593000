-- GDPR: a forget hides the subject's pairings and undelivered assignments under the request's id.
ALTER TABLE support_interactions ADD COLUMN forgotten_by uuid;
CREATE INDEX support_interactions_forgotten_by ON support_interactions (forgotten_by);
ALTER TABLE pairing_outbox ADD COLUMN forgotten_by uuid;
CREATE INDEX pairing_outbox_forgotten_by ON pairing_outbox (forgotten_by);
