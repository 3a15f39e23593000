DROP TABLE idempotency_keys;
DROP TABLE communication_records;
