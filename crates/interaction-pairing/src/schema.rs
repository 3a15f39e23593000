//! Tables in portable types: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    support_interactions (interaction_id) {
        interaction_id -> Uuid,
        customer_id -> Uuid,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}
