//! The content queue's table, in portable types (native `uuid`/`timestamptz` on PostgreSQL, text
//! on SQLite): migration `2026-12-06-000201_content_jobs`.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    content_jobs (record_id) {
        record_id -> Uuid,
        interaction_id -> Uuid,
        channel -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        retried_at -> Nullable<UtcTimestamp>,
        ended_at -> Nullable<UtcTimestamp>,
        dead_at -> Nullable<UtcTimestamp>,
        last_error -> Nullable<Text>,
    }
}

// The claim leaves out jobs whose record's inbox event a GDPR request holds.
use crate::schema::inbox_events;
diesel::allow_tables_to_appear_in_same_query!(content_jobs, inbox_events);
