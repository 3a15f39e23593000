DROP TABLE records_expiry_rounds;
