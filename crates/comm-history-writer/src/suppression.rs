//! What a purged GDPR forget of a customer leaves behind here: keyed hashes of the (interaction,
//! customer) pairs it reached (`gdpr_suppressed_assignments`), so that a later assignment of that
//! customer to that interaction gives them nothing. HMAC-SHA256 with `records.suppression_key`:
//! the table names nobody, and without the key its hashes cannot be tested against guesses.

use crate::schema::gdpr_suppressed_assignments;
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

impl AssignmentKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        if secret.expose_secret().len() < 32 {
            return Err("records.suppression_key: must be set (at least 32 characters)".to_owned());
        }
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map(Self)
            .map_err(|_| "records.suppression_key: not usable as an HMAC key".to_owned())
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
