//! The suppression list: keyed hashes of forgotten subjects' identifiers, so that a late delivery
//! of a result from before a forget does not bring the subject's data back.

use crate::schema::suppressions;
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::{SupportResult, Timestamp};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::DbTimestamp;
use service_kit::database::AnyConnection;
use sha2::Sha256;
use std::collections::HashMap;

/// HMAC-SHA256 over an identifier: the suppression list can recognise a subject without holding
/// anything that names them, and without the key the hashes cannot be tested against guesses.
/// The key is checked once, when the service starts.
#[derive(Clone)]
pub struct SuppressionKey(Hmac<Sha256>);

impl SuppressionKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map(Self)
            .map_err(|_| "ingest.suppression_key: not usable as an HMAC key".to_owned())
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// What a webhook result is recognised by: its ANI's search key (`handle_key`, computed once
    /// by the caller) and its conversation.
    pub fn hashes_of_result(&self, result: &SupportResult, handle_key: &str) -> Vec<String> {
        vec![
            self.hash("handle", handle_key),
            self.hash("interaction", &result.conversation_id.to_string()),
        ]
    }

    /// What a forgotten subject is recognised by: its handles' search keys and its interactions.
    pub fn hashes_of_subject(&self, subject: &DataSubject) -> Vec<String> {
        subject
            .handle_keys()
            .iter()
            .map(|key| self.hash("handle", key))
            .chain(
                subject
                    .interaction_ids
                    .iter()
                    .map(|id| self.hash("interaction", &id.to_string())),
            )
            .collect()
    }
}

/// For each result (its hashes and event time), whether it belongs to a subject forgotten after
/// it happened. One lookup for all of them.
pub fn suppressed_among<'a>(
    connection: &mut AnyConnection,
    results: impl Iterator<Item = (&'a [String], Timestamp)> + Clone,
) -> QueryResult<Vec<bool>> {
    let hashes: Vec<&String> = results.clone().flat_map(|(hashes, _)| hashes).collect();
    if hashes.is_empty() {
        return Ok(results.map(|_| false).collect());
    }
    let found: Vec<(String, DbTimestamp)> = suppressions::table
        .filter(suppressions::key_hash.eq_any(hashes))
        .select((suppressions::key_hash, suppressions::forgotten_at))
        .load(connection)?;
    // The latest forget of each hash decides.
    let mut latest: HashMap<String, Timestamp> = HashMap::new();
    for (hash, forgotten_at) in found {
        let at = forgotten_at.into_domain()?;
        latest.entry(hash).and_modify(|t| *t = (*t).max(at)).or_insert(at);
    }
    Ok(results
        .map(|(hashes, event_time)| {
            hashes
                .iter()
                .any(|hash| latest.get(hash).is_some_and(|&at| at > event_time))
        })
        .collect())
}
