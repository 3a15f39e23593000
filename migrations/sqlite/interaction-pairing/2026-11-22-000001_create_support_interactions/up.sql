-- Which customer each Genesys interaction belongs to, as BOFE last said.
CREATE TABLE support_interactions (
    interaction_id TEXT PRIMARY KEY NOT NULL,
    customer_id    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- GDPR requests look interactions up by customer.
CREATE INDEX support_interactions_customer_id ON support_interactions (customer_id);
