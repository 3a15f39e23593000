//! Tables in portable types: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    inbox_events (id) {
        id -> Uuid,
        conversation_id -> Uuid,
        user_id -> Uuid,
        wrapup_code -> Text,
        event_time -> UtcTimestamp,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        last_error -> Nullable<Text>,
        accepted_at -> UtcTimestamp,
        budget_started_at -> UtcTimestamp,
        processed_at -> Nullable<UtcTimestamp>,
        record_id -> Nullable<Uuid>,
        customer_handle_key -> Nullable<Text>,
        forgotten_by -> Nullable<Uuid>,
        trace_context -> Nullable<Text>,
        lease_until -> Nullable<UtcTimestamp>,
        agent_redacted -> Bool,
        dead_at -> Nullable<UtcTimestamp>,
        origin -> Text,
        confirmed_at -> Nullable<UtcTimestamp>,
        participant_customer_id -> Nullable<Uuid>,
        channel -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    suppressions (request_id, key_hash) {
        request_id -> Uuid,
        key_hash -> Text,
        forgotten_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    erased_results (key_hash) {
        key_hash -> Text,
        request_id -> Uuid,
        erased_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    sweeps (id) {
        id -> Uuid,
        origin -> Text,
        requested_by -> Nullable<Text>,
        started_from -> UtcTimestamp,
        started_before -> UtcTimestamp,
        status -> Text,
        cursor_at -> UtcTimestamp,
        cursor_page -> Integer,
        held_at -> Nullable<UtcTimestamp>,
        next_attempt_at -> UtcTimestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        pages -> Integer,
        requests -> Integer,
        conversations -> Integer,
        results -> Integer,
        recovered -> Integer,
        confirmed -> Integer,
        suppressed -> Integer,
        unusable -> Integer,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    sweeper (name) {
        name -> Text,
        holder -> Nullable<Uuid>,
        leased_until -> Nullable<UtcTimestamp>,
        watermark -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    /// The check value of the suppression key the stored hashes were made with (one row).
    suppression_key_check (id) {
        id -> Integer,
        check_value -> Text,
    }
}
