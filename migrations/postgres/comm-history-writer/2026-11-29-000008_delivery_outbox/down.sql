DROP TABLE delivery_outbox;
