//! What a purged GDPR forget of a customer leaves behind here: keyed hashes of the (interaction,
//! customer) pairs it purged (`gdpr_suppressed_pairings`), so that BOFE or the console pairing
//! that customer with that interaction again is refused and nothing is stored or queued.
//! HMAC-SHA256 with `pairing.suppression_key`: the table names nobody, and without the key its
//! hashes cannot be tested against guesses. Only a purge writes them: an undo lifts nothing.

use crate::schema::gdpr_suppressed_pairings::{self, dsl};
use crate::schema::suppression_key_check;
use diesel::prelude::*;
use domain::{CustomerId, InteractionId};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use sha2::Sha256;
use uuid::Uuid;

/// The key of the purged pairs' fingerprints.
#[derive(Clone)]
pub struct PairingKey(Hmac<Sha256>);

impl std::fmt::Debug for PairingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairingKey(<redacted>)")
    }
}

impl PairingKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        let secret = secret.expose_secret();
        if secret.len() < 32 {
            return Err("pairing.suppression_key: must be set (at least 32 characters)".to_owned());
        }
        Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map(Self)
            .map_err(|_| "pairing.suppression_key: not usable as an HMAC key".to_owned())
    }

    /// The key's check value: names nothing, and tells nothing of the key.
    fn check_value(&self) -> String {
        let mut mac = self.0.clone();
        mac.update(b"key-check:ccbridge pairing.suppression_key");
        hex::encode(mac.finalize().into_bytes())
    }

    /// The fingerprint of `customer` on `interaction`.
    pub fn fingerprint(&self, interaction: InteractionId, customer: CustomerId) -> String {
        let mut mac = self.0.clone();
        mac.update(format!("pairing:{interaction}:{customer}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Keeps, for good, the fingerprints of the pairs the purge `request_id` deletes; idempotent.
pub fn keep(connection: &mut AnyConnection, request_id: Uuid, fingerprints: &[String]) -> QueryResult<()> {
    for chunk in fingerprints.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|fingerprint| {
                (
                    dsl::fingerprint.eq(fingerprint.as_str()),
                    dsl::request_id.eq(DbUuid(request_id)),
                )
            })
            .collect();
        per_backend!(connection, |c| diesel::insert_into(gdpr_suppressed_pairings::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
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
/// would no longer match: a purged customer could be paired again); the first start writes the
/// key's check value. (`check-config` has no database and cannot tell.)
pub fn refuse_another_key(connection: &mut AnyConnection, key: &PairingKey) -> anyhow::Result<()> {
    let check_value = key.check_value();
    let stored: String = service_kit::database::write_transaction(connection, |c| {
        let row = (
            suppression_key_check::id.eq(1),
            suppression_key_check::check_value.eq(&check_value),
        );
        per_backend!(c, |c| diesel::insert_into(suppression_key_check::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
        suppression_key_check::table
            .select(suppression_key_check::check_value)
            .first(c)
    })?;
    if stored != check_value {
        return Err(service_kit::configuration::invalid(
            "pairing.suppression_key: not the key this database's erased pairings were made with \
             (another key would let purged customers be paired again; it is never changed)",
        ));
    }
    Ok(())
}
