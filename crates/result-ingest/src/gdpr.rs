//! The GDPR participant: a subject's webhook results in the inbox (pending, processed or dead),
//! found by the ANI's search key or by the interactions linked to the subject; and the
//! suppression list that keeps late deliveries from bringing forgotten data back.

use crate::schema::{inbox_events, suppressions};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantCall, ParticipantReport};
use domain::{SupportResult, Timestamp};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::gdpr_participant::{counts, GdprStore};
use service_kit::per_backend;
use sha2::Sha256;
use std::collections::HashMap;
use uuid::Uuid;

const CATEGORY: &str = "webhookResults";

/// HMAC-SHA256 over an identifier: the suppression list can recognise a subject without holding
/// anything that names them, and without the key the hashes cannot be tested against guesses.
#[derive(Clone)]
pub struct SuppressionKey(SecretString);

impl SuppressionKey {
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }

    fn hash(&self, kind: &str, value: &str) -> String {
        // HMAC accepts keys of any length; the error branch cannot happen.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) else {
            return String::new();
        };
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

    fn hashes_of_subject(&self, subject: &DataSubject) -> Vec<String> {
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

pub struct WebhookResults {
    key: SuppressionKey,
}

impl WebhookResults {
    pub fn new(key: SuppressionKey) -> Self {
        Self { key }
    }
}

type AnyBackend = <AnyConnection as Connection>::Backend;
type Filter = Box<dyn BoxableExpression<inbox_events::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;

fn of_subject(subject: &DataSubject) -> Filter {
    use inbox_events::dsl;
    let interactions: Vec<DbUuid> = subject.interaction_ids.iter().map(|&id| id.into()).collect();
    Box::new(
        dsl::forgotten_by.is_null().and(
            dsl::customer_handle_key
                .eq_any(subject.handle_keys())
                .assume_not_null()
                .or(dsl::conversation_id.eq_any(interactions)),
        ),
    )
}

fn held_by(request_id: Uuid) -> Filter {
    Box::new(
        inbox_events::forgotten_by
            .eq(Some(DbUuid(request_id)))
            .assume_not_null(),
    )
}

impl GdprStore for WebhookResults {
    fn count(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let n: i64 = inbox_events::table
            .filter(of_subject(subject))
            .count()
            .get_result(connection)?;
        Ok(ParticipantReport::done(counts([(CATEGORY, n)])))
    }

    fn export(&self, connection: &mut AnyConnection, subject: &DataSubject) -> QueryResult<ParticipantReport> {
        let rows: Vec<(DbUuid, String, String, DbTimestamp)> = inbox_events::table
            .filter(of_subject(subject))
            .select((
                inbox_events::id,
                inbox_events::payload,
                inbox_events::status,
                inbox_events::accepted_at,
            ))
            .order((inbox_events::accepted_at, inbox_events::id))
            .load(connection)?;
        let results = rows
            .into_iter()
            .map(|(id, payload, status, accepted_at)| {
                let result: serde_json::Value = serde_json::from_str(&payload)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
                Ok(serde_json::json!({
                    "eventId": id.0,
                    "status": status,
                    "acceptedAt": accepted_at.into_domain()?,
                    "result": result,
                }))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([(CATEGORY, results.len() as i64)]));
        report.data = Some([(CATEGORY.to_owned(), results)].into());
        Ok(report)
    }

    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        call: &ParticipantCall,
        now: Timestamp,
    ) -> QueryResult<CategoryCounts> {
        // A webhook batch in flight has inserted its results but checked the suppressions before
        // these are written: wait for it to commit so the update below sees its rows, and make
        // later batches wait for this commit, so their check sees the suppressions. (SQLite has
        // one writer at a time anyway.)
        if let AnyConnection::Postgresql(pg) = connection {
            diesel::sql_query("LOCK TABLE inbox_events IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
        }
        diesel::update(inbox_events::table.filter(of_subject(&call.subject)))
            .set(inbox_events::forgotten_by.eq(Some(DbUuid(request_id))))
            .execute(connection)?;
        let forgotten_at = DbTimestamp::from(call.forgotten_at.unwrap_or(now));
        let rows: Vec<_> = self
            .key
            .hashes_of_subject(&call.subject)
            .into_iter()
            .map(|hash| {
                (
                    suppressions::request_id.eq(DbUuid(request_id)),
                    suppressions::key_hash.eq(hash),
                    suppressions::forgotten_at.eq(forgotten_at),
                )
            })
            .collect();
        per_backend!(connection, |c| diesel::insert_into(suppressions::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
        self.held(connection, request_id)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let restored = diesel::update(inbox_events::table.filter(held_by(request_id)))
            .set(inbox_events::forgotten_by.eq(None::<DbUuid>))
            .execute(connection)?;
        diesel::delete(suppressions::table.filter(suppressions::request_id.eq(DbUuid(request_id))))
            .execute(connection)?;
        Ok(counts([(CATEGORY, restored as i64)]))
    }

    /// A worker that claimed some of these events before the forget may still write their
    /// records: wait until none is leased (or backing off after a failed attempt, which looks
    /// the same and ends within `backoff_max_ms`). Forgotten events are never claimed again.
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let now = DbTimestamp::from(Timestamp::now());
        let leased: i64 = inbox_events::table
            .filter(held_by(request_id))
            .filter(inbox_events::status.eq(crate::inbox::PENDING))
            .filter(inbox_events::attempts.gt(0))
            .filter(
                inbox_events::lease_until
                    .gt(now)
                    .or(inbox_events::next_attempt_at.gt(now).nullable()),
            )
            .count()
            .get_result(connection)?;
        Ok(leased > 0)
    }

    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        // The suppressions stay: late deliveries after the purge must still be dropped.
        let deleted = diesel::delete(inbox_events::table.filter(held_by(request_id))).execute(connection)?;
        Ok(counts([(CATEGORY, deleted as i64)]))
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let n: i64 = inbox_events::table
            .filter(held_by(request_id))
            .count()
            .get_result(connection)?;
        Ok(counts([(CATEGORY, n)]))
    }
}
