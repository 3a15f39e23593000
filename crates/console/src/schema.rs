//! The console's one table, in portable types: native `timestamptz` on PostgreSQL, text on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::UtcTimestamp;

    console_sessions (id_digest) {
        id_digest -> Text,
        state -> Text,
        created_at -> UtcTimestamp,
        last_seen_at -> UtcTimestamp,
        ended_at -> Nullable<UtcTimestamp>,
        signed_in -> Bool,
        generation -> BigInt,
        renewing_until -> Nullable<UtcTimestamp>,
    }
}
