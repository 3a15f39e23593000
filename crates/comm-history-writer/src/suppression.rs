//! What a purged GDPR forget of a customer leaves behind here: keyed hashes of the (interaction,
//! customer) pairs it reached (`gdpr_suppressed_assignments`), so that a later assignment of that
//! customer to that interaction gives them nothing. HMAC-SHA256 with `records.suppression_key`:
//! the table names nobody, and without the key its hashes cannot be tested against guesses.
//!
//! The same table keeps, under the purge's request, a keyed marker of each idempotency key whose
//! record a purge deleted (`idempotency-key:` hashes, kept as purged): a write sent again with one
//! of those keys after the purge (an answer lost, the event retried) is answered as erased instead
//! of storing the record anew.

use crate::schema::gdpr_suppressed_assignments;
use diesel::prelude::*;
use domain::{CustomerId, InteractionId};
use gdpr_participant::suppression_key::{self, PairKey, PairLabel};
use secrecy::SecretString;
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The key of the assignments' fingerprints (`assignment:<interaction>:<customer>`) and of the
/// erased idempotency keys' markers, checked once at start.
#[derive(Clone, Debug)]
pub struct AssignmentKey(PairKey<Assignments>);

/// The pairs [`AssignmentKey`] fingerprints: a customer's assignments to interactions.
#[derive(Debug, Clone, Copy)]
pub enum Assignments {}

impl PairLabel for Assignments {
    const SETTING: &'static str = "records.suppression_key";
    const LABEL: &'static str = "assignment";
}

impl std::ops::Deref for AssignmentKey {
    type Target = PairKey<Assignments>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl AssignmentKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        PairKey::new(secret).map(Self)
    }

    /// The marker of `caller`'s idempotency key `key` (the caller's length first, so that no
    /// two (caller, key) pairs share a text).
    pub fn idempotency_key_marker(&self, caller: &str, key: &str) -> String {
        let text = format!("{}:{caller}:{key}", caller.len());
        self.key().hash("idempotency-key", &text)
    }
}

/// Keeps under `request_id` each of `fingerprints` (`purged`: for good), once; idempotent.
fn keep_fingerprints(
    connection: &mut AnyConnection,
    request_id: Uuid,
    fingerprints: impl Iterator<Item = String>,
    purged: bool,
) -> QueryResult<()> {
    use gdpr_suppressed_assignments::dsl;
    let rows: Vec<_> = fingerprints
        .map(|fingerprint| {
            (
                dsl::request_id.eq(DbUuid(request_id)),
                dsl::fingerprint.eq(fingerprint),
                dsl::purged.eq(purged),
            )
        })
        .collect();
    gdpr_participant::insert_new!(connection, gdpr_suppressed_assignments::table, rows)?;
    Ok(())
}

/// Keeps, under the purge `request_id`, the markers of idempotency keys whose records it deletes
/// (kept as purged at once: an undo never reaches a purge).
pub fn keep_erased_keys(connection: &mut AnyConnection, request_id: Uuid, markers: &[String]) -> QueryResult<()> {
    keep_fingerprints(connection, request_id, markers.iter().cloned(), true)
}

/// Which of `fingerprints` (pairs' or idempotency keys' markers) a purged forget keeps. One
/// lookup for each 500.
pub fn purged_among(connection: &mut AnyConnection, fingerprints: &[String]) -> QueryResult<BTreeSet<String>> {
    use gdpr_suppressed_assignments::dsl;
    let mut found = BTreeSet::new();
    for chunk in fingerprints.chunks(500) {
        found.extend(
            dsl::gdpr_suppressed_assignments
                .filter(dsl::fingerprint.eq_any(chunk))
                .filter(dsl::purged.eq(true))
                .select(dsl::fingerprint)
                .load::<String>(connection)?,
        );
    }
    Ok(found)
}

/// Notes under `request_id` the pairs of `customers` and `interactions` (a forget's); idempotent.
pub fn note(
    connection: &mut AnyConnection,
    key: &AssignmentKey,
    request_id: Uuid,
    customers: &BTreeSet<CustomerId>,
    interactions: &BTreeSet<InteractionId>,
) -> QueryResult<()> {
    let pairs = customers
        .iter()
        .flat_map(|&customer| interactions.iter().map(move |&interaction| (interaction, customer)));
    let fingerprints = pairs.map(|(interaction, customer)| key.fingerprint(interaction, customer));
    keep_fingerprints(connection, request_id, fingerprints, false)
}

/// The request's pairs stay suppressed for good (its purge).
pub fn keep(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<usize> {
    use gdpr_suppressed_assignments::dsl;
    diesel::update(dsl::gdpr_suppressed_assignments.filter(dsl::request_id.eq(DbUuid(request_id))))
        .set(dsl::purged.eq(true))
        .execute(connection)
}

/// The request's pairs go (its undo).
pub fn lift(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<usize> {
    use gdpr_suppressed_assignments::dsl;
    diesel::delete(
        dsl::gdpr_suppressed_assignments
            .filter(dsl::request_id.eq(DbUuid(request_id)))
            .filter(dsl::purged.eq(false)),
    )
    .execute(connection)
}

/// The forgets not purged yet that reached the pair with this fingerprint: what the customer
/// gains there now is held by them as it is made.
pub fn holding(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<Vec<Uuid>> {
    use gdpr_suppressed_assignments::dsl;
    let holders = dsl::gdpr_suppressed_assignments
        .filter(dsl::fingerprint.eq(fingerprint))
        .filter(dsl::purged.eq(false))
        .select(dsl::request_id);
    Ok(gdpr_participant::holds::plain(holders.load(connection)?))
}

/// Whether a purged forget reached the pair with this fingerprint.
pub fn is_suppressed(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<bool> {
    purged_among(connection, &[fingerprint.to_owned()]).map(|found| !found.is_empty())
}

/// Refuses another `records.suppression_key` than the stored fingerprints and markers were made
/// with (they would no longer match: a purged customer's copy could come back).
pub fn refuse_another_key(connection: &mut AnyConnection, key: &AssignmentKey) -> anyhow::Result<()> {
    let why = "rotating it would give purged customers their copies back; see docs/operations.md";
    suppression_key::refuse_another_key(connection, key.key(), "suppressed assignments", why)
}
