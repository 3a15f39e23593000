DROP TABLE gdpr_holds;
