DROP TABLE gdpr_suppressed_pairings;
