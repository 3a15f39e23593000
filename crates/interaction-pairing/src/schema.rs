//! Tables in portable types: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    interaction_customers (id) {
        id -> Uuid,
        interaction_id -> Uuid,
        customer_id -> Uuid,
        paired_at -> UtcTimestamp,
        forgotten_by -> Nullable<Uuid>,
        paired_by_caller -> Nullable<Text>,
        paired_by_subject -> Nullable<Text>,
        paired_by_name -> Nullable<Text>,
        pairing_reason -> Nullable<Text>,
        removed_at -> Nullable<UtcTimestamp>,
        removed_by_caller -> Nullable<Text>,
        removed_by_subject -> Nullable<Text>,
        removed_by_name -> Nullable<Text>,
        removal_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    pairing_outbox (id) {
        id -> Uuid,
        interaction_id -> Uuid,
        customer_id -> Uuid,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        last_error -> Nullable<Text>,
        created_at -> UtcTimestamp,
        forgotten_by -> Nullable<Uuid>,
        action -> Text,
        actor -> Nullable<Text>,
        dead_at -> Nullable<UtcTimestamp>,
        retried_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_suppressed_pairings (fingerprint) {
        fingerprint -> Text,
        request_id -> Uuid,
    }
}

diesel::table! {
    suppression_key_check (id) {
        id -> Integer,
        check_value -> Text,
    }
}
