//! The key of what a purge leaves behind (a participant's `suppression_key` setting): keyed
//! hashes (HMAC-SHA256) that recognise an erased subject, pair or result without naming anyone,
//! and that cannot be tested against guesses without the key.
//!
//! Every hash is `HMAC(key, "<label>:<value>")`; each participant chooses its labels and values.
//! The key's check value (`HMAC(key, "key-check:ccbridge <setting>")`) is kept in the
//! participant's `suppression_key_check` table at its first start: a start under another key is
//! refused ([`refuse_another_key`]), since the stored hashes would no longer match and purged
//! data could come back.

use diesel::prelude::*;
use domain::{CustomerId, InteractionId};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use sha2::Sha256;
use std::marker::PhantomData;

diesel::table! {
    /// One row: the check value of the key this database's hashes were made with.
    suppression_key_check (id) {
        id -> Integer,
        check_value -> Text,
    }
}

/// The shortest key accepted.
pub const MIN_KEY_CHARS: usize = 32;

/// A participant's suppression key, named by its setting (said in every refusal).
#[derive(Clone)]
pub struct SuppressionKey {
    mac: Hmac<Sha256>,
    setting: &'static str,
}

impl std::fmt::Debug for SuppressionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SuppressionKey({}: <redacted>)", self.setting)
    }
}

impl SuppressionKey {
    /// The key of `setting` (`records.suppression_key`), at least [`MIN_KEY_CHARS`] long.
    pub fn new(setting: &'static str, secret: &SecretString) -> Result<Self, String> {
        let secret = secret.expose_secret();
        if secret.len() < MIN_KEY_CHARS {
            return Err(format!("{setting}: must be set (at least {MIN_KEY_CHARS} characters)"));
        }
        Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map(|mac| Self { mac, setting })
            .map_err(|_| format!("{setting}: not usable as an HMAC key"))
    }

    /// `HMAC(key, "<label>:<value>")`, hex.
    pub fn hash(&self, label: &str, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// What `suppression_key_check` holds for this key. Names nothing, and tells nothing of
    /// the key.
    pub fn check_value(&self) -> String {
        self.hash("key-check", &format!("ccbridge {}", self.setting))
    }

    /// The setting the key comes from.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

/// Which (interaction, customer) pairs a [`PairKey`] fingerprints: its setting and its label.
pub trait PairLabel {
    /// The setting the key comes from (`pairing.suppression_key`).
    const SETTING: &'static str;
    /// The label of its fingerprints (`pairing`).
    const LABEL: &'static str;
}

/// A key of (interaction, customer) pairs' fingerprints (`HMAC(key, "<label>:<interaction>:<customer>")`):
/// what a purged forget of a customer keeps of the pairs it erased (interaction-pairing's
/// pairings, comm-history-writer's assignments).
pub struct PairKey<L> {
    key: SuppressionKey,
    label: PhantomData<L>,
}

impl<L> Clone for PairKey<L> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            label: PhantomData,
        }
    }
}

impl<L> std::fmt::Debug for PairKey<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.key.fmt(f)
    }
}

impl<L: PairLabel> PairKey<L> {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        SuppressionKey::new(L::SETTING, secret).map(|key| Self {
            key,
            label: PhantomData,
        })
    }

    /// The fingerprint of `customer` on `interaction`.
    pub fn fingerprint(&self, interaction: InteractionId, customer: CustomerId) -> String {
        self.key.hash(L::LABEL, &format!("{interaction}:{customer}"))
    }

    /// The key itself, for the participant's other hashes.
    pub fn key(&self) -> &SuppressionKey {
        &self.key
    }
}

/// Whether `key` is the key this database's hashes were made with; the first start (nothing
/// stored yet) writes its check value.
pub fn key_matches(connection: &mut AnyConnection, key: &SuppressionKey) -> QueryResult<bool> {
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
    Ok(stored == check_value)
}

/// Refuses another key than this database's hashes were made with, naming the setting:
/// `"<setting>: not the key this database's <what> were made with (<why>)"`. (`check-config`
/// has no database and cannot tell.)
pub fn refuse_another_key(
    connection: &mut AnyConnection,
    key: &SuppressionKey,
    what: &str,
    why: &str,
) -> anyhow::Result<()> {
    if key_matches(connection, key)? {
        return Ok(());
    }
    Err(service_kit::configuration::invalid(&format!(
        "{}: not the key this database's {what} were made with ({why})",
        key.setting
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-key-of-more-than-thirty-two-characters";

    fn key(setting: &'static str) -> SuppressionKey {
        SuppressionKey::new(setting, &SecretString::from(SECRET)).unwrap()
    }

    fn hmac(text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The values stored before this helper existed stay the same.
    #[test]
    fn hashes_are_the_hmac_of_label_and_value() {
        let k = key("pairing.suppression_key");
        assert_eq!(k.hash("pairing", "a:b"), hmac("pairing:a:b"));
        assert_eq!(k.check_value(), hmac("key-check:ccbridge pairing.suppression_key"));
        assert_ne!(k.check_value(), key("records.suppression_key").check_value());
    }

    #[test]
    fn a_pair_key_fingerprints_label_interaction_and_customer() {
        enum Pairs {}
        impl PairLabel for Pairs {
            const SETTING: &'static str = "pairing.suppression_key";
            const LABEL: &'static str = "pairing";
        }
        let key = PairKey::<Pairs>::new(&SecretString::from(SECRET)).unwrap();
        let (interaction, customer) = (
            InteractionId::from_uuid(uuid::Uuid::nil()),
            CustomerId::from_uuid(uuid::Uuid::max()),
        );
        assert_eq!(
            key.fingerprint(interaction, customer),
            hmac(&format!("pairing:{interaction}:{customer}"))
        );
        assert_eq!(
            key.key().check_value(),
            hmac("key-check:ccbridge pairing.suppression_key")
        );
    }

    #[test]
    fn a_short_key_is_refused_naming_the_setting() {
        let refused = SuppressionKey::new("records.suppression_key", &SecretString::from("short")).unwrap_err();
        assert_eq!(refused, "records.suppression_key: must be set (at least 32 characters)");
        assert!(!format!("{:?}", key("x")).contains(SECRET));
    }
}
