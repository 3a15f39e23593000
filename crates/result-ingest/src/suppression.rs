//! The suppression list: keyed hashes of forgotten subjects' identifiers (customers' handles and
//! interactions, agents' Genesys user ids), so that a late delivery of a result from before a
//! forget does not bring the subject's data back; and the fingerprints of the results a purge
//! erased, so that the same result delivered again, whenever, is known as seen; and with them the
//! conversations a purged forget of a customer erased results of (and, for an agent's, the agent
//! in each such conversation), so that no result of that conversation (of that agent in it) comes
//! back under a new identity, whatever its event time (a wrap-up code changed later, a second
//! agent's wrap-up after a transfer).

use crate::schema::{erased_results, suppression_key_check, suppressions};
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::{GenesysUserId, InteractionId, SupportResult, Timestamp};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::DbTimestamp;
use service_kit::database::AnyConnection;
use sha2::Sha256;
use std::collections::{HashMap, HashSet};

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

    /// The key's check value: what `suppression_key_check` holds for the key the stored hashes
    /// were made with. Names nothing, and tells nothing of the key.
    pub fn check_value(&self) -> String {
        self.hash("key-check", "ccbridge ingest.suppression_key")
    }

    /// What a webhook result is recognised by: its ANI's search key (`handle_key`, computed once
    /// by the caller), its conversation and its agent.
    pub fn hashes_of_result(&self, result: &SupportResult, handle_key: &str) -> Vec<String> {
        vec![
            self.hash("handle", handle_key),
            self.hash("interaction", &result.conversation_id.to_string()),
            self.hash("agent", &result.user_id.to_string()),
        ]
    }

    /// What a forgotten subject is recognised by: its handles' search keys, its interactions and,
    /// for an agent, their Genesys user ids.
    pub fn hashes_of_subject(&self, subject: &DataSubject) -> Vec<String> {
        let handles = subject.handle_keys().into_iter().map(|key| self.hash("handle", &key));
        let interactions = subject
            .interaction_ids
            .iter()
            .map(|id| self.hash("interaction", &id.to_string()));
        let agents = subject
            .genesys_user_ids
            .iter()
            .map(|id| self.hash("agent", &id.to_string()));
        handles
            .chain(interactions)
            .chain(agents)
            .chain(self.erased_marks_of_subject(subject))
            .collect()
    }

    /// What the subject's purge will keep as erased whatever the time, noted with its
    /// suppressions at the forget (inert there: no result is hashed under these labels): each
    /// interaction the FORGET names, for a customer; each of them with each agent, for an agent.
    fn erased_marks_of_subject<'a>(&'a self, subject: &'a DataSubject) -> impl Iterator<Item = String> + 'a {
        let names_a_customer = !subject.customer_ids.is_empty() || !subject.handle_keys().is_empty();
        let conversations = subject
            .interaction_ids
            .iter()
            .filter(move |_| names_a_customer)
            .map(|&id| self.erased_conversation(id));
        let agents = subject.interaction_ids.iter().flat_map(move |&conversation| {
            subject
                .genesys_user_ids
                .iter()
                .map(move |&agent| self.erased_agent_in_conversation(conversation, agent))
        });
        conversations.chain(agents)
    }

    /// A result's fingerprint: its identity (conversation, agent, wrap-up code: the inbox's
    /// natural key), whatever event time a delivery carries. Both ids are UUIDs of fixed length,
    /// so the joined text names one identity only.
    pub fn fingerprint(&self, conversation: InteractionId, agent: GenesysUserId, wrapup_code: &str) -> String {
        self.hash("result", &format!("{conversation}/{agent}/{wrapup_code}"))
    }

    pub fn fingerprint_of_result(&self, result: &SupportResult) -> String {
        self.fingerprint(result.conversation_id, result.user_id, result.wrapup_code.as_str())
    }

    /// A conversation a purged forget of a customer erased results of.
    pub fn erased_conversation(&self, conversation: InteractionId) -> String {
        self.hash("erased-conversation", &conversation.to_string())
    }

    /// An agent in a conversation a purged forget of the agent erased results of.
    pub fn erased_agent_in_conversation(&self, conversation: InteractionId, agent: GenesysUserId) -> String {
        self.hash("erased-agent-in-conversation", &format!("{conversation}/{agent}"))
    }

    /// What a purge's erasure recognises a result by, whatever its event time: its identity's
    /// fingerprint, its conversation, and its agent in that conversation.
    pub fn erased_marks_of_result(&self, result: &SupportResult) -> Vec<String> {
        vec![
            self.fingerprint_of_result(result),
            self.erased_conversation(result.conversation_id),
            self.erased_agent_in_conversation(result.conversation_id, result.user_id),
        ]
    }
}

/// For each fingerprint, whether a purge erased its result. One lookup for all of them.
pub fn erased_among<'a>(
    connection: &mut AnyConnection,
    fingerprints: impl Iterator<Item = &'a str> + Clone,
) -> QueryResult<Vec<bool>> {
    let wanted: Vec<&str> = fingerprints.clone().collect();
    let found: HashSet<String> = erased_results::table
        .filter(erased_results::key_hash.eq_any(wanted))
        .select(erased_results::key_hash)
        .load::<String>(connection)?
        .into_iter()
        .collect();
    Ok(fingerprints.map(|fingerprint| found.contains(fingerprint)).collect())
}

/// Keeps the fingerprints of results erased by `request_id` (again: nothing changes).
pub fn keep_erased(
    connection: &mut AnyConnection,
    request_id: uuid::Uuid,
    fingerprints: &[String],
    now: Timestamp,
) -> QueryResult<()> {
    for chunk in fingerprints.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|fingerprint| {
                (
                    erased_results::key_hash.eq(fingerprint),
                    erased_results::request_id.eq(service_kit::database::sql_types::DbUuid(request_id)),
                    erased_results::erased_at.eq(DbTimestamp::from(now)),
                )
            })
            .collect();
        service_kit::per_backend!(connection, |c| diesel::insert_into(erased_results::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
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

/// Whether `check_value` is that of the key this database's hashes were made with; the first
/// start (no hash stored under any key yet) writes it.
pub fn key_matches(connection: &mut AnyConnection, check_value: &str) -> QueryResult<bool> {
    service_kit::database::write_transaction(connection, |c| {
        service_kit::per_backend!(c, |c| diesel::insert_into(suppression_key_check::table)
            .values((
                suppression_key_check::id.eq(1),
                suppression_key_check::check_value.eq(check_value)
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        let stored: String = suppression_key_check::table
            .select(suppression_key_check::check_value)
            .first(c)?;
        Ok(stored == check_value)
    })
}
