DROP INDEX inbox_events_participant_customer;
ALTER TABLE inbox_events DROP COLUMN participant_customer_id;
