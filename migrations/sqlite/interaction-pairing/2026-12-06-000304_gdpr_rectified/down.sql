DROP TABLE gdpr_rectified;
