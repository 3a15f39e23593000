DROP TABLE pairing_outbox;
