//! What a purged GDPR forget of a customer leaves behind here: keyed hashes of the (interaction,
//! customer) pairs it purged (`gdpr_suppressed_pairings`), so that BOFE or the console pairing
//! that customer with that interaction again is refused and nothing is stored or queued.
//! HMAC-SHA256 with `pairing.suppression_key`: the table names nobody, and without the key its
//! hashes cannot be tested against guesses. Only a purge writes them: an undo lifts nothing.

use crate::schema::gdpr_suppressed_pairings::{self, dsl};
use diesel::prelude::*;
use gdpr_participant::suppression_key::{self, PairKey, PairLabel};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use uuid::Uuid;

/// The key of the purged pairs' fingerprints (`pairing:<interaction>:<customer>`).
pub type PairingKey = PairKey<Pairings>;

/// The pairs [`PairingKey`] fingerprints: pairings.
#[derive(Debug, Clone, Copy)]
pub enum Pairings {}

impl PairLabel for Pairings {
    const SETTING: &'static str = "pairing.suppression_key";
    const LABEL: &'static str = "pairing";
}

/// Keeps, for good, the fingerprints of the pairs the purge `request_id` deletes; idempotent.
pub fn keep(connection: &mut AnyConnection, request_id: Uuid, fingerprints: &[String]) -> QueryResult<()> {
    let rows: Vec<_> = fingerprints
        .iter()
        .map(|fingerprint| (dsl::fingerprint.eq(fingerprint), dsl::request_id.eq(DbUuid(request_id))))
        .collect();
    gdpr_participant::insert_new!(connection, gdpr_suppressed_pairings::table, rows)?;
    Ok(())
}

/// Whether a purged forget erased the pair with this fingerprint.
pub fn is_erased(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<bool> {
    let found: i64 = dsl::gdpr_suppressed_pairings
        .filter(dsl::fingerprint.eq(fingerprint))
        .count()
        .get_result(connection)?;
    Ok(found > 0)
}

/// Refuses another `pairing.suppression_key` than the stored fingerprints were made with (they
/// would no longer match: a purged customer could be paired again).
pub fn refuse_another_key(connection: &mut AnyConnection, key: &PairingKey) -> anyhow::Result<()> {
    let why = "another key would let purged customers be paired again; it is never changed";
    suppression_key::refuse_another_key(connection, key.key(), "erased pairings", why)
}
