//! What a purged GDPR forget of a customer leaves behind here: keyed hashes of the (interaction,
//! customer) pairs it reached (`gdpr_suppressed_assignments`), so that a later assignment of that
//! customer to that interaction gives them nothing. HMAC-SHA256 with `records.suppression_key`:
//! the table names nobody, and without the key its hashes cannot be tested against guesses.
//!
//! The same table keeps, under the purge's request, a keyed marker of each idempotency key whose
//! record a purge deleted (`idempotency-key:` hashes, kept as purged): a write sent again with one
//! of those keys after the purge (an answer lost, the event retried) is answered as erased instead
//! of storing the record anew.

use crate::schema::{gdpr_suppressed_assignments, suppression_key_check};
use diesel::prelude::*;
use domain::{CustomerId, InteractionId};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use sha2::Sha256;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The key of the assignments' fingerprints, checked once at start.
#[derive(Clone)]
pub struct AssignmentKey(Hmac<Sha256>);

impl std::fmt::Debug for AssignmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AssignmentKey(<redacted>)")
    }
}

impl AssignmentKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        if secret.expose_secret().len() < 32 {
            return Err("records.suppression_key: must be set (at least 32 characters)".to_owned());
        }
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map(Self)
            .map_err(|_| "records.suppression_key: not usable as an HMAC key".to_owned())
    }

    /// The key's check value: what `suppression_key_check` holds for the key the stored
    /// fingerprints were made with. Names nothing, and tells nothing of the key.
    pub fn check_value(&self) -> String {
        let mut mac = self.0.clone();
        mac.update(b"key-check:ccbridge records.suppression_key");
        hex::encode(mac.finalize().into_bytes())
    }

    /// The fingerprint of `customer` on `interaction`.
    pub fn fingerprint(&self, interaction: InteractionId, customer: CustomerId) -> String {
        let mut mac = self.0.clone();
        mac.update(b"assignment:");
        mac.update(interaction.to_string().as_bytes());
        mac.update(b":");
        mac.update(customer.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The marker of `caller`'s idempotency key `key` (the caller's length first, so that no
    /// two (caller, key) pairs share a text).
    pub fn idempotency_key_marker(&self, caller: &str, key: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(b"idempotency-key:");
        mac.update(format!("{}:{caller}:{key}", caller.len()).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Keeps, under the purge `request_id`, the markers of idempotency keys whose records it deletes
/// (kept as purged at once: an undo never reaches a purge).
pub fn keep_erased_keys(connection: &mut AnyConnection, request_id: Uuid, markers: &[String]) -> QueryResult<()> {
    use gdpr_suppressed_assignments::dsl;
    for chunk in markers.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|marker| {
                (
                    dsl::request_id.eq(DbUuid(request_id)),
                    dsl::fingerprint.eq(marker.as_str()),
                    dsl::purged.eq(true),
                )
            })
            .collect();
        per_backend!(connection, |c| diesel::insert_into(gdpr_suppressed_assignments::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
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
    use gdpr_suppressed_assignments::dsl;
    let rows: Vec<_> = customers
        .iter()
        .flat_map(|&customer| interactions.iter().map(move |&interaction| (interaction, customer)))
        .map(|(interaction, customer)| {
            (
                dsl::request_id.eq(DbUuid(request_id)),
                dsl::fingerprint.eq(key.fingerprint(interaction, customer)),
                dsl::purged.eq(false),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        per_backend!(connection, |c| diesel::insert_into(gdpr_suppressed_assignments::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
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
    Ok(dsl::gdpr_suppressed_assignments
        .filter(dsl::fingerprint.eq(fingerprint))
        .filter(dsl::purged.eq(false))
        .select(dsl::request_id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Whether a purged forget reached the pair with this fingerprint.
pub fn is_suppressed(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<bool> {
    use gdpr_suppressed_assignments::dsl;
    let found: i64 = dsl::gdpr_suppressed_assignments
        .filter(dsl::fingerprint.eq(fingerprint))
        .filter(dsl::purged.eq(true))
        .count()
        .get_result(connection)?;
    Ok(found > 0)
}

/// Refuses another `records.suppression_key` than the stored fingerprints and markers were made
/// with (they would no longer match: a purged customer's copy could come back); the first start
/// writes the key's check value. (`check-config` has no database and cannot tell.)
pub fn refuse_another_key(connection: &mut AnyConnection, key: &AssignmentKey) -> anyhow::Result<()> {
    let check_value = key.check_value();
    let stored: String = service_kit::database::write_transaction(connection, |c| {
        per_backend!(c, |c| diesel::insert_into(suppression_key_check::table)
            .values((
                suppression_key_check::id.eq(1),
                suppression_key_check::check_value.eq(&check_value),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        suppression_key_check::table
            .select(suppression_key_check::check_value)
            .first(c)
    })?;
    if stored == check_value {
        return Ok(());
    }
    Err(service_kit::configuration::invalid(
        "records.suppression_key: not the key this database's suppressed assignments were made with \
         (rotating it would give purged customers their copies back; see docs/operations.md)",
    ))
}
