DROP TABLE expired_copies;
