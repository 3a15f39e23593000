DROP TABLE suppression_key_check;
