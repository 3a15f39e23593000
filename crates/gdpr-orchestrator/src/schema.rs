//! Tables in portable types: native `uuid`/`timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    gdpr_requests (id) {
        id -> Uuid,
        request_type -> Text,
        status -> Text,
        count_only -> Bool,
        reference -> Text,
        requested_by -> Text,
        subject -> Nullable<Text>,
        subject_fingerprint -> Nullable<Text>,
        target_request_id -> Nullable<Uuid>,
        received_at -> UtcTimestamp,
        due_at -> UtcTimestamp,
        extension_months -> Integer,
        extension_reason -> Nullable<Text>,
        confirmed_at -> Nullable<UtcTimestamp>,
        confirmed_by -> Nullable<Text>,
        purge_after -> Nullable<UtcTimestamp>,
        completed_at -> Nullable<UtcTimestamp>,
        identifiers_erased_at -> Nullable<UtcTimestamp>,
        status_reason -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> Integer,
        requested_via -> Text,
        confirmed_via -> Nullable<Text>,
        requested_vouched_by -> Nullable<Text>,
        claimed_until -> Nullable<UtcTimestamp>,
        retry_since -> Nullable<UtcTimestamp>,
        dead_at -> Nullable<UtcTimestamp>,
        last_error -> Nullable<Text>,
        answer_language -> Nullable<Text>,
        rectification -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    gdpr_request_verifications (request_id) {
        request_id -> Uuid,
        method -> Text,
        evidence_reference -> Nullable<Text>,
        verified_by -> Text,
        verified_by_name -> Nullable<Text>,
        verified_via -> Text,
        verified_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    gdpr_steps (request_id, phase, participant) {
        request_id -> Uuid,
        phase -> Text,
        participant -> Text,
        position -> Integer,
        state -> Text,
        attempts -> Integer,
        counts -> Nullable<Text>,
        external_ref -> Nullable<Text>,
        results_urls -> Nullable<Text>,
        export_data -> Nullable<Text>,
        detail -> Nullable<Text>,
        updated_at -> UtcTimestamp,
        left_out -> Nullable<Text>,
        to_erase_elsewhere -> Nullable<Text>,
        retained -> Nullable<Text>,
        retention_holds -> Nullable<Text>,
        retained_until -> Nullable<UtcTimestamp>,
        to_restrict_elsewhere -> Nullable<Text>,
        kept_unchanged -> Nullable<Text>,
        conflicts -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    gdpr_audit_log (id) {
        id -> Uuid,
        request_id -> Uuid,
        at -> UtcTimestamp,
        actor -> Text,
        event -> Text,
        detail -> Text,
        sequence -> Nullable<Integer>,
        previous_hash -> Nullable<Text>,
        entry_hash -> Nullable<Text>,
        caller -> Nullable<Text>,
        keyed -> Bool,
        actor_name -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::UtcTimestamp;

    gdpr_audit_keying (keyed_since) {
        keyed_since -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    legal_holds (id) {
        id -> Uuid,
        status -> Text,
        reference -> Text,
        reason -> Text,
        basis -> Text,
        subject -> Text,
        window_from -> Nullable<UtcTimestamp>,
        window_to -> Nullable<UtcTimestamp>,
        ends_at -> Nullable<UtcTimestamp>,
        placed_by -> Text,
        placed_via -> Text,
        placed_vouched_by -> Text,
        placed_at -> UtcTimestamp,
        release_requested_by -> Nullable<Text>,
        release_requested_via -> Nullable<Text>,
        release_requested_vouched_by -> Nullable<Text>,
        release_requested_at -> Nullable<UtcTimestamp>,
        release_reason -> Nullable<Text>,
        released_by -> Nullable<Text>,
        released_via -> Nullable<Text>,
        released_vouched_by -> Nullable<Text>,
        released_at -> Nullable<UtcTimestamp>,
        released_reason -> Nullable<Text>,
        updated_at -> UtcTimestamp,
        version -> Integer,
        identifiers_erased_at -> Nullable<UtcTimestamp>,
    }
}

diesel::joinable!(gdpr_steps -> gdpr_requests (request_id));
diesel::joinable!(gdpr_request_verifications -> gdpr_requests (request_id));
diesel::allow_tables_to_appear_in_same_query!(
    gdpr_requests,
    gdpr_steps,
    gdpr_request_verifications,
    gdpr_audit_log,
    gdpr_audit_keying,
    legal_holds
);
