-- Which customer each Genesys interaction belongs to, as BOFE last said.
CREATE TABLE support_interactions (
    interaction_id uuid PRIMARY KEY,
    customer_id    uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- GDPR requests look interactions up by customer.
CREATE INDEX support_interactions_customer_id ON support_interactions (customer_id);
