//! The suppression list: keyed hashes of forgotten subjects' identifiers (customers' handles and
//! interactions, agents' Genesys user ids), so that a late delivery of a result from before a
//! forget does not bring the subject's data back; and the fingerprints of the results a purge
//! erased, so that the same result delivered again, whenever, is known as seen; and with them the
//! conversations a purged forget of a customer erased results of (and, for an agent's, the agent
//! in each such conversation), so that no result of that conversation (of that agent in it) comes
//! back under a new identity, whatever its event time (a wrap-up code changed later, a second
//! agent's wrap-up after a transfer).

use crate::schema::{erased_results, suppressions};
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::{CustomerId, GenesysUserId, InteractionId, SupportResult, Timestamp};
use gdpr_participant::suppression_key;
use secrecy::SecretString;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::{HashMap, HashSet};

/// HMAC-SHA256 over an identifier: the suppression list can recognise a subject without holding
/// anything that names them, and without the key the hashes cannot be tested against guesses.
/// The key is checked once, when the service starts ([`refuse_another_key`]).
#[derive(Clone, Debug)]
pub struct SuppressionKey(suppression_key::SuppressionKey);

impl SuppressionKey {
    pub fn new(secret: &SecretString) -> Result<Self, String> {
        suppression_key::SuppressionKey::new("ingest.suppression_key", secret).map(Self)
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        self.0.hash(kind, value)
    }

    /// What a handle's search key is suppressed under.
    pub fn handle_hash(&self, handle_key: &str) -> String {
        self.hash("handle", handle_key)
    }

    /// What a webhook result is recognised by: its ANI's search key (`handle_key`, computed once
    /// by the caller), its conversation, its agent and the customer its participant data names.
    pub fn hashes_of_result(
        &self,
        result: &SupportResult,
        handle_key: &str,
        participant_customer: Option<CustomerId>,
    ) -> Vec<String> {
        let mut hashes = vec![
            self.hash("handle", handle_key),
            self.hash("interaction", &result.conversation_id.to_string()),
            self.hash("agent", &result.user_id.to_string()),
        ];
        hashes.extend(participant_customer.map(|customer| self.hash("customer", &customer.to_string())));
        hashes
    }

    /// What a forgotten subject is recognised by: its handles' search keys, its interactions, its
    /// customer ids (a result whose participant data names one) and, for an agent, their Genesys
    /// user ids.
    pub fn hashes_of_subject(&self, subject: &DataSubject) -> Vec<String> {
        let handles = subject.handle_keys().into_iter().map(|key| self.hash("handle", &key));
        let customers = subject
            .customer_ids
            .iter()
            .map(|id| self.hash("customer", &id.to_string()));
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
            .chain(customers)
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
    let rows: Vec<_> = fingerprints
        .iter()
        .map(|fingerprint| {
            (
                erased_results::key_hash.eq(fingerprint),
                erased_results::request_id.eq(DbUuid(request_id)),
                erased_results::erased_at.eq(DbTimestamp::from(now)),
            )
        })
        .collect();
    gdpr_participant::insert_new!(connection, erased_results::table, rows)?;
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

/// Refuses another `ingest.suppression_key` than the stored suppressions and erased
/// fingerprints were made with: they would no longer match, and purged data could come back.
pub fn refuse_another_key(connection: &mut AnyConnection, key: &SuppressionKey) -> anyhow::Result<()> {
    let why = "rotating it would bring purged data back; see docs/operations.md";
    suppression_key::refuse_another_key(connection, &key.0, "suppressions and erased results", why)
}
