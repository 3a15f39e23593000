DROP TABLE support_interactions;
