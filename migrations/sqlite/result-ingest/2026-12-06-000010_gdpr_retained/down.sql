DROP TABLE gdpr_retained;
