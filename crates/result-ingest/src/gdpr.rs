//! The GDPR participant: a subject's webhook results in the inbox (pending, processed or dead),
//! and the suppression list that keeps late deliveries from bringing forgotten data back.
//!
//! A result carries no customer of its own: the bank attributes it by pairing its interaction.
//! So a request reaches the results of the subject's interactions (those interaction-pairing
//! links to its customer ids) and the results one of its handles finds, except those whose
//! interaction BOFE paired with another customer: interaction-pairing is asked about them before
//! each count, export and forget, and they are left out and counted. An agent (`genesysUserIds`)
//! reaches the results they handled: the customer's record is still written, without the agent.

use crate::inbox::{self, InboxStatus};
use crate::schema::{inbox_events, suppressions};
use crate::siblings::Siblings;
use crate::suppression::{self, SuppressionKey};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantCall, ParticipantReport};
use domain::{GenesysUserId, InteractionId, Timestamp};
use futures_util::future::LocalBoxFuture;
use gdpr_participant::{counts, holds, GdprStore, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{AnyConnection, DbPool};
use service_kit::per_backend;
use service_kit::problem::ApiError;
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// The subject's results as a customer.
const RESULTS: &str = "webhookResults";
/// Results that name the subject as their agent.
const AGENT_RESULTS: &str = "agentWebhookResults";

const HOLD_EVENT: &str = "event";
const HOLD_AGENT: &str = "agent";

/// The most interactions one pairing lookup names (interaction-pairing's limit).
const LOOKUP_CHUNK: usize = 500;

pub struct WebhookResults {
    key: SuppressionKey,
    pairings: Arc<Siblings>,
}

impl WebhookResults {
    pub fn new(key: SuppressionKey, pairings: Arc<Siblings>) -> Self {
        Self { key, pairings }
    }
}

type AnyBackend = <AnyConnection as Connection>::Backend;
type Filter = Box<dyn BoxableExpression<inbox_events::table, AnyBackend, SqlType = diesel::sql_types::Bool>>;

fn interactions(subject: &DataSubject) -> Vec<DbUuid> {
    subject.interaction_ids.iter().map(|&id| id.into()).collect()
}

fn elsewhere(reach: &Reach<'_>) -> Vec<DbUuid> {
    reach.attributed_elsewhere.iter().map(|&id| id.into()).collect()
}

fn by_handle(subject: &DataSubject) -> Filter {
    Box::new(
        inbox_events::customer_handle_key
            .eq_any(subject.handle_keys())
            .assume_not_null(),
    )
}

/// The subject's results as a customer, hidden ones too: of its interactions, or found by a
/// handle and not attributed to another customer.
fn of_customer(reach: &Reach<'_>) -> Filter {
    use inbox_events::dsl;
    Box::new(
        dsl::conversation_id
            .eq_any(interactions(reach.subject))
            .or(by_handle(reach.subject).and(dsl::conversation_id.ne_all(elsewhere(reach)))),
    )
}

/// Found by a handle, but attributed to another customer.
fn left_out_filter(reach: &Reach<'_>) -> Filter {
    use inbox_events::dsl;
    Box::new(
        dsl::forgotten_by
            .is_null()
            .and(by_handle(reach.subject))
            .and(dsl::conversation_id.eq_any(elsewhere(reach))),
    )
}

fn of_agent(subject: &DataSubject) -> Filter {
    let agents: Vec<DbUuid> = subject.genesys_user_ids.iter().map(|&id| id.into()).collect();
    Box::new(inbox_events::user_id.eq_any(agents))
}

fn visible() -> Filter {
    Box::new(inbox_events::forgotten_by.is_null())
}

fn count_where(connection: &mut AnyConnection, filter: Filter) -> QueryResult<i64> {
    inbox_events::table.filter(filter).count().get_result(connection)
}

fn ids_where(connection: &mut AnyConnection, filter: Filter) -> QueryResult<Vec<Uuid>> {
    Ok(inbox_events::table
        .filter(filter)
        .select(inbox_events::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

fn left_out(connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
    let n = count_where(connection, left_out_filter(reach))?;
    if n == 0 {
        return Ok(CategoryCounts::new());
    }
    counts([(RESULTS, n)])
}

/// Agent results still showing the agent.
fn showing_agent(subject: &DataSubject) -> Filter {
    Box::new(
        visible()
            .and(of_agent(subject))
            .and(inbox_events::agent_redacted.eq(false)),
    )
}

fn corrupt(e: serde_json::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

impl WebhookResults {
    /// The identities (conversation, agent, wrap-up code) of these events' results (those still
    /// in the inbox).
    fn identities(
        &self,
        connection: &mut AnyConnection,
        events: &[Uuid],
    ) -> QueryResult<Vec<(InteractionId, GenesysUserId, String)>> {
        let mut found = Vec::with_capacity(events.len());
        holds::chunked(events, |ids| {
            let identities: Vec<(DbUuid, DbUuid, String)> = inbox_events::table
                .filter(inbox_events::id.eq_any(ids))
                .select((
                    inbox_events::conversation_id,
                    inbox_events::user_id,
                    inbox_events::wrapup_code,
                ))
                .load(connection)?;
            found.extend(
                identities
                    .into_iter()
                    .map(|(conversation, agent, wrapup_code)| (conversation.into(), agent.into(), wrapup_code)),
            );
            Ok(0)
        })?;
        Ok(found)
    }
}

impl GdprStore for WebhookResults {
    fn count(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let results = count_where(connection, Box::new(visible().and(of_customer(reach))))?;
        let agent = count_where(connection, showing_agent(reach.subject))?;
        let mut report = ParticipantReport::done(counts([(RESULTS, results), (AGENT_RESULTS, agent)])?);
        report.left_out = left_out(connection, reach)?;
        Ok(report)
    }

    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let order = (inbox_events::accepted_at, inbox_events::id);
        let rows: Vec<(DbUuid, String, String, DbTimestamp)> = inbox_events::table
            .filter(visible().and(of_customer(reach)))
            .select((
                inbox_events::id,
                inbox_events::payload,
                inbox_events::status,
                inbox_events::accepted_at,
            ))
            .order(order)
            .load(connection)?;
        let results = rows
            .into_iter()
            .map(|(id, payload, status, accepted_at)| {
                let result: serde_json::Value = serde_json::from_str(&payload).map_err(corrupt)?;
                Ok(serde_json::json!({
                    "eventId": id.0,
                    "status": status,
                    "acceptedAt": accepted_at.into_domain()?,
                    "result": result,
                }))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        // The agent's part of each result, without the customer's data (GDPR Art. 15(4)).
        let handled: Vec<(DbUuid, DbUuid, DbUuid, String, DbTimestamp)> = inbox_events::table
            .filter(showing_agent(reach.subject))
            .select((
                inbox_events::id,
                inbox_events::conversation_id,
                inbox_events::user_id,
                inbox_events::wrapup_code,
                inbox_events::event_time,
            ))
            .order(order)
            .load(connection)?;
        let handled = handled
            .into_iter()
            .map(|(id, conversation, user, wrapup_code, event_time)| {
                Ok(serde_json::json!({
                    "eventId": id.0,
                    "conversationId": conversation.0,
                    "userId": user.0,
                    "wrapupCode": wrapup_code,
                    "eventTime": event_time.into_domain()?,
                }))
            })
            .collect::<QueryResult<Vec<_>>>()?;
        let mut report = ParticipantReport::done(counts([
            (RESULTS, results.len() as i64),
            (AGENT_RESULTS, handled.len() as i64),
        ])?);
        report.left_out = left_out(connection, reach)?;
        report.data = Some([(RESULTS.to_owned(), results), (AGENT_RESULTS.to_owned(), handled)].into());
        Ok(report)
    }

    fn forget(
        &self,
        connection: &mut AnyConnection,
        request_id: Uuid,
        call: &ParticipantCall,
        reach: &Reach<'_>,
        now: Timestamp,
    ) -> QueryResult<CategoryCounts> {
        use inbox_events::dsl;
        // A webhook batch in flight has inserted its results but checked the suppressions before
        // these are written: wait for it to commit so the holds below cover its rows, and make
        // later batches wait for this commit, so their check sees the suppressions. (SQLite has
        // one writer at a time anyway.)
        if let AnyConnection::Postgresql(pg) = connection {
            diesel::sql_query("LOCK TABLE inbox_events IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
        }
        let left_out = left_out(connection, reach)?;
        let events = ids_where(connection, of_customer(reach))?;
        holds::hold(connection, request_id, HOLD_EVENT, &events)?;
        holds::chunked(&events, |ids| {
            diesel::update(
                dsl::inbox_events
                    .filter(dsl::id.eq_any(ids))
                    .filter(dsl::forgotten_by.is_null()),
            )
            .set(dsl::forgotten_by.eq(Some(DbUuid(request_id))))
            .execute(connection)
            .map(holds::changed)
        })?;
        let agents = ids_where(connection, of_agent(reach.subject))?;
        holds::hold(connection, request_id, HOLD_AGENT, &agents)?;
        holds::chunked(&agents, |ids| {
            diesel::update(dsl::inbox_events.filter(dsl::id.eq_any(ids)))
                .set(dsl::agent_redacted.eq(true))
                .execute(connection)
                .map(holds::changed)
        })?;
        let forgotten_at = DbTimestamp::from(call.forgotten_at.unwrap_or(now));
        let rows: Vec<_> = self
            .key
            .hashes_of_subject(reach.subject)
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
        Ok(left_out)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        use inbox_events::dsl;
        let held = self.held(connection, request_id)?;
        let released = holds::release(connection, request_id, HOLD_EVENT)?;
        for (holder, rows) in holds::by_holder(released) {
            holds::chunked(&rows, |ids| {
                diesel::update(dsl::inbox_events.filter(dsl::id.eq_any(ids)))
                    .set(dsl::forgotten_by.eq(holder.map(DbUuid)))
                    .execute(connection)
                    .map(holds::changed)
            })?;
        }
        let released = holds::release(connection, request_id, HOLD_AGENT)?;
        let free: Vec<Uuid> = released
            .into_iter()
            .filter_map(|(row, holder)| holder.is_none().then_some(row))
            .collect();
        holds::chunked(&free, |ids| {
            diesel::update(dsl::inbox_events.filter(dsl::id.eq_any(ids)))
                .set(dsl::agent_redacted.eq(false))
                .execute(connection)
                .map(holds::changed)
        })?;
        diesel::delete(suppressions::table.filter(suppressions::request_id.eq(DbUuid(request_id))))
            .execute(connection)?;
        Ok(held)
    }

    /// A worker that claimed some of these events before the forget may still write their
    /// records (with the agent, for an agent's forget): wait until its lease ends. A worker never
    /// writes after its lease (it stops short of it), held events are never claimed again, and an
    /// agent's events claimed later are written without the agent.
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let now = DbTimestamp::from(Timestamp::now());
        for kind in [HOLD_EVENT, HOLD_AGENT] {
            let rows = holds::held_rows(connection, request_id, kind)?;
            let leased = holds::chunked(&rows, |ids| {
                inbox_events::table
                    .filter(inbox_events::id.eq_any(ids))
                    .filter(inbox_events::status.eq(InboxStatus::Pending.as_str()))
                    .filter(inbox_events::lease_until.gt(now))
                    .count()
                    .get_result(connection)
            })?;
            if leased > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn purge(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        use inbox_events::dsl;
        // A webhook batch that starts during the purge must see the fingerprints below, or a
        // redelivery would find the result neither stored under its identity nor erased (as the
        // forget's lock, above).
        if let AnyConnection::Postgresql(pg) = connection {
            diesel::sql_query("LOCK TABLE inbox_events IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
        }
        // The suppressions stay: late deliveries after the purge must still be dropped. And each
        // result the purge deletes or rewrites stays known by its fingerprint, so that the same
        // result delivered again, with whatever event time, is dropped too.
        let events = holds::held_rows(connection, request_id, HOLD_EVENT)?;
        let agents = holds::held_rows(connection, request_id, HOLD_AGENT)?;
        // (An event this request holds both as a customer's and as an agent's counts once.)
        // So does each conversation a customer's results were erased of, and each agent's part in
        // a conversation: no result of theirs there comes back under a new identity either.
        let of_customer = self.identities(connection, &events)?;
        let of_agent = self.identities(connection, &agents)?;
        let mut erased: Vec<String> = of_customer
            .iter()
            .chain(&of_agent)
            .map(|(conversation, agent, wrapup_code)| self.key.fingerprint(*conversation, *agent, wrapup_code))
            .collect();
        erased.extend(
            of_customer
                .iter()
                .map(|(conversation, _, _)| self.key.erased_conversation(*conversation)),
        );
        erased.extend(
            of_agent
                .iter()
                .map(|(conversation, agent, _)| self.key.erased_agent_in_conversation(*conversation, *agent)),
        );
        // And what the forget noted for its purge: the conversations it names.
        erased.extend(
            suppressions::table
                .filter(suppressions::request_id.eq(DbUuid(request_id)))
                .select(suppressions::key_hash)
                .load::<String>(connection)?,
        );
        erased.sort_unstable();
        erased.dedup();
        suppression::keep_erased(connection, request_id, &erased, Timestamp::now())?;
        let deleted = holds::chunked(&events, |ids| {
            diesel::delete(dsl::inbox_events.filter(dsl::id.eq_any(ids)))
                .execute(connection)
                .map(holds::changed)
        })?;
        holds::drop_rows(connection, HOLD_EVENT, &events)?;
        holds::drop_rows(connection, HOLD_AGENT, &events)?;
        // The agent leaves the inbox for good: their user id is replaced by a random one (the
        // natural key stays unique), and the event stays redacted, so its record never names them.
        let mut blanked = 0i64;
        for id in &agents {
            blanked += holds::changed(inbox::replace_agent(connection, *id)?);
        }
        holds::drop_rows(connection, HOLD_AGENT, &agents)?;
        counts([(RESULTS, deleted), (AGENT_RESULTS, blanked)])
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        let events = holds::held_rows(connection, request_id, HOLD_EVENT)?;
        let held_events = holds::chunked(&events, |ids| {
            inbox_events::table
                .filter(inbox_events::id.eq_any(ids))
                .count()
                .get_result(connection)
        })?;
        let agents = holds::held_rows(connection, request_id, HOLD_AGENT)?;
        let held_agents = holds::chunked(&agents, |ids| {
            inbox_events::table
                .filter(inbox_events::id.eq_any(ids))
                .count()
                .get_result(connection)
        })?;
        counts([(RESULTS, held_events), (AGENT_RESULTS, held_agents)])
    }

    /// Interactions of results a handle finds that BOFE paired with a customer outside the
    /// request, or whose pairing a FORGET holds (attributed, to someone not told): asked of
    /// interaction-pairing before the transaction. A pairing made between this question and
    /// the transaction is not seen.
    fn attributed_elsewhere<'a>(
        &'a self,
        pool: &'a DbPool,
        subject: &'a DataSubject,
    ) -> LocalBoxFuture<'a, Result<BTreeSet<InteractionId>, ApiError>> {
        Box::pin(async move {
            if subject.handle_keys().is_empty() {
                return Ok(BTreeSet::new());
            }
            let keys = subject.handle_keys();
            let linked = interactions(subject);
            let candidates: Vec<InteractionId> = pool
                .run(move |c| {
                    inbox_events::table
                        .filter(inbox_events::customer_handle_key.eq_any(keys))
                        .filter(inbox_events::conversation_id.ne_all(linked))
                        .select(inbox_events::conversation_id)
                        .distinct()
                        .load::<DbUuid>(c)
                        .map_err(ApiError::from)
                })
                .await?
                .into_iter()
                .map(InteractionId::from)
                .collect();
            let mut elsewhere = BTreeSet::new();
            for chunk in candidates.chunks(LOOKUP_CHUNK) {
                let found = self
                    .pairings
                    .pairings_of(chunk)
                    .await
                    .map_err(|failure| ApiError::Unavailable {
                        retry_after_seconds: 5,
                        cause: anyhow::anyhow!("who the subject's results belong to is unknown: {failure:?}"),
                    })?;
                elsewhere.extend(
                    found
                        .customers
                        .into_iter()
                        .filter(|(_, customers)| customers.iter().any(|c| !subject.customer_ids.contains(c)))
                        .map(|(interaction, _)| interaction),
                );
                elsewhere.extend(found.held);
            }
            Ok(elsewhere)
        })
    }
}
