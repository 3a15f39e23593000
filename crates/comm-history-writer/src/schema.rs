//! Tables in portable types: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    communication_records (id) {
        id -> Uuid,
        direction -> Text,
        communicated_at -> UtcTimestamp,
        source -> Text,
        channel -> Text,
        domain -> Text,
        customer_id -> Nullable<Uuid>,
        customer_handle -> Text,
        customer_handle_key -> Text,
        interaction_id -> Uuid,
        bank_user_id -> Nullable<Text>,
        bank_user_name -> Nullable<Text>,
        purpose -> Nullable<Text>,
        title -> Text,
        body -> Text,
        created_at -> UtcTimestamp,
        forgotten_by -> Nullable<Uuid>,
        genesys_user_id -> Nullable<Uuid>,
        agent_redacted -> Bool,
        customer_source -> Nullable<Text>,
        copied_from -> Nullable<Uuid>,
        withdrawn_at -> Nullable<UtcTimestamp>,
        withdrawn_by -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    idempotency_keys (caller, idempotency_key) {
        caller -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        record_id -> Uuid,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    delivery_outbox (id) {
        id -> Uuid,
        record_id -> Uuid,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        delivered_at -> Nullable<UtcTimestamp>,
        external_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        unanswered -> Bool,
        sending_until -> Nullable<UtcTimestamp>,
        sent_at -> Nullable<UtcTimestamp>,
        maybe_delivered_at -> Nullable<UtcTimestamp>,
        dead_at -> Nullable<UtcTimestamp>,
        retried_at -> Nullable<UtcTimestamp>,
        blanks_body -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_suppressed_assignments (request_id, fingerprint) {
        request_id -> Uuid,
        fingerprint -> Text,
        purged -> Bool,
    }
}

diesel::table! {
    /// The check value of the suppression key the stored hashes were made with (one row).
    suppression_key_check (id) {
        id -> Integer,
        check_value -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::UtcTimestamp;

    /// The last expiry round, whichever replica ran it (one row).
    records_expiry_rounds (id) {
        id -> Integer,
        ran_at -> UtcTimestamp,
        outcome -> Text,
        expired -> BigInt,
        kept -> BigInt,
    }
}
