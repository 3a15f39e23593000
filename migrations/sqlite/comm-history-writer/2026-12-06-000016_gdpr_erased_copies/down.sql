DROP TABLE gdpr_erased_copies;
