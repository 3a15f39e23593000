//! The GDPR participant: a subject's webhook results in the inbox (pending, processed or dead),
//! and the suppression list that keeps late deliveries from bringing forgotten data back.
//!
//! A result carries no customer of its own but the one its Genesys participant data may name
//! (`participant_customer_id`): the bank attributes it by pairing its interaction. So a request
//! reaches the results of the subject's interactions (those interaction-pairing links to its
//! customer ids), those whose participant data names one of its customer ids (whoever BOFE
//! paired them with: the attribute's value is the subject's data; a later one is suppressed by
//! the customer id's hash), and the results one of its handles finds, except those whose
//! interaction BOFE paired with another customer: interaction-pairing is asked about them before
//! each count, export and forget, and they are left out and counted. An agent (`genesysUserIds`)
//! reaches the results they handled: the customer's record is still written, without the agent.
//!
//! A legal hold's retention keeps at a purge the results (and agents in results) its subject
//! reaches, as a customer or as an agent, and, whoever BOFE paired them with, the results of the
//! interactions it names and those whose handle (`customer_handle_key`) is one of its phone
//! numbers or e-mail addresses, whose event time (`event_time`: the communication's
//! time, its record's `communicatedAt`) is within its window. They stay held, never claimed, with
//! their agent, and are still exported to their subject; the fingerprints that keep an erased
//! result out are made when a purge erases them.

mod rectify;

use crate::inbox::{self, InboxStatus};
use crate::schema::{inbox_events, suppressions};
use crate::siblings::Siblings;
use crate::suppression::{self, SuppressionKey};
use contracts::legal_hold::Retained;
use contracts::participant::{CategoryCounts, ParticipantReport, Rectification};
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::{GenesysUserId, InteractionId, Timestamp};
use futures_util::future::LocalBoxFuture;
use gdpr_participant::holds::{chunked, Filter, HeldTable};
use gdpr_participant::{counts, counts_if_any, Forget, GdprStore, Keepers, Purge, Reach};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{AnyConnection, DbPool};
use service_kit::problem::ApiError;
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// The subject's results as a customer.
const RESULTS: &str = "webhookResults";
/// Results that name the subject as their agent.
const AGENT_RESULTS: &str = "agentWebhookResults";

// A hold is on the whole event, or on the agent in it.
gdpr_participant::held_table!(
    pub(crate) Events = inbox_events {
        hold: "event",
        time: event_time,
        interaction: conversation_id,
        handle: customer_handle_key,
        agent_hold: "agent"
    }
);

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

type EventFilter = Filter<inbox_events::table>;

fn by_handle(subject: &DataSubject) -> EventFilter {
    Box::new(
        inbox_events::customer_handle_key
            .eq_any(subject.handle_keys())
            .assume_not_null(),
    )
}

/// The subject's results as a customer, hidden ones too: of its interactions, those whose
/// participant data names one of its customer ids, or found by a handle and not attributed to
/// another customer.
fn of_customer(reach: &Reach<'_>) -> EventFilter {
    use inbox_events::dsl;
    Box::new(
        dsl::conversation_id
            .eq_any(reach.interactions())
            .or(dsl::participant_customer_id.eq_any(reach.customers()).assume_not_null())
            .or(by_handle(reach.subject).and(dsl::conversation_id.ne_all(reach.elsewhere()))),
    )
}

fn of_agent(reach: &Reach<'_>) -> EventFilter {
    Box::new(inbox_events::user_id.eq_any(reach.agents()))
}

/// Agent results whose agent part an export of the subject's agents shows: visible, the agent
/// not hidden in them, or kept so for a legal hold.
fn exported_agent(reach: &Reach<'_>) -> EventFilter {
    Box::new(Events::agent_exportable().and(of_agent(reach)))
}

/// Results a request for the subject reaches, as a customer or as an agent: what a legal hold on
/// the subject keeps, whole.
pub(crate) fn reached(reach: &Reach<'_>) -> EventFilter {
    Box::new(of_customer(reach).or(of_agent(reach)))
}

fn corrupt(e: serde_json::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

/// A webhook batch in flight has inserted its results but checked the suppressions before a
/// forget's are written: the forget (and the purge) waits for it to commit, so that its holds
/// cover the batch's rows, and later batches wait for this commit, so that their check sees the
/// suppressions (and a purge's fingerprints). (SQLite has one writer at a time anyway.)
fn lock_out_webhook_batches(connection: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = connection {
        diesel::sql_query("LOCK TABLE inbox_events IN SHARE ROW EXCLUSIVE MODE").execute(pg)?;
    }
    Ok(())
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
        chunked(events, |ids| {
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
        let (results, agent) = Events::count_customers_and_agents(connection, of_customer(reach), of_agent(reach))?;
        counts([(RESULTS, results), (AGENT_RESULTS, agent)]).map(ParticipantReport::done)
    }

    /// Visible results a handle finds whose interaction is attributed to another customer.
    fn left_out(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<CategoryCounts> {
        let elsewhere = inbox_events::conversation_id.eq_any(reach.elsewhere());
        let found = Events::visible().and(by_handle(reach.subject)).and(elsewhere);
        counts_if_any(RESULTS, Events::count_where(connection, Box::new(found))?)
    }

    fn export(&self, connection: &mut AnyConnection, reach: &Reach<'_>) -> QueryResult<ParticipantReport> {
        let order = (inbox_events::accepted_at, inbox_events::id);
        let rows: Vec<(DbUuid, String, String, DbTimestamp)> = inbox_events::table
            .filter(Events::exportable().and(of_customer(reach)))
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
            .filter(exported_agent(reach))
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
        report.data = Some([(RESULTS.to_owned(), results), (AGENT_RESULTS.to_owned(), handled)].into());
        Ok(report)
    }

    fn hold(&self, connection: &mut AnyConnection, request_id: Uuid, reach: &Reach<'_>) -> QueryResult<()> {
        lock_out_webhook_batches(connection)?;
        Events::hold_where(connection, request_id, of_customer(reach))?;
        Events::hold_agents_where(connection, request_id, of_agent(reach))?;
        Ok(())
    }

    /// Holds, and suppresses results of the subject from before the forget that come later (a
    /// restriction does not: what comes later is processed as usual).
    fn forget(&self, connection: &mut AnyConnection, forget: &Forget<'_>) -> QueryResult<()> {
        let (request_id, reach) = (forget.request_id, &forget.reach);
        self.hold(connection, request_id, reach)?;
        // No content of the subject's interactions is fetched any more (the writer refuses a
        // body for a held record as well).
        crate::content::forget(connection, request_id, &reach.subject.interaction_ids)?;
        use suppressions::dsl as s;
        // The suppressions: what keeps results of the subject from before the forget that come
        // later out.
        let (request, at) = (DbUuid(request_id), DbTimestamp::from(forget.forgotten_at));
        let hashes = self.key.hashes_of_subject(reach.subject).into_iter();
        let rows: Vec<_> = hashes
            .map(|hash| (s::request_id.eq(request), s::key_hash.eq(hash), s::forgotten_at.eq(at)))
            .collect();
        gdpr_participant::insert_new!(connection, suppressions::table, rows)?;
        Ok(())
    }

    /// Replaced handles in the results ([`rectify`]); the suppression list stays as it is.
    fn rectify(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        self.rectify_results(c, reach, fix, keepers)
    }

    /// Results not the subject's already carrying a `to` ([`rectify::conflicts`]).
    fn rectify_conflicts(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
    ) -> QueryResult<std::collections::BTreeMap<String, u64>> {
        rectify::conflicts(c, reach, fix)
    }

    fn count_rectify(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<CategoryCounts> {
        rectify::would_change(c, reach, fix, keepers)
    }

    /// Results a hold keeps: their `ani` stays.
    fn kept_unchanged(
        &self,
        c: &mut AnyConnection,
        reach: &Reach<'_>,
        fix: &Rectification,
        keepers: &Keepers<'_>,
    ) -> QueryResult<Vec<Retained>> {
        rectify::kept_unchanged(c, reach, fix, keepers)
    }

    /// A worker that claimed one of the corrected results before the rectify holds its old `ani`
    /// and may still write it as a record: wait until its lease ends (it never writes after).
    fn rectifying_in_flight(&self, c: &mut AnyConnection, reach: &Reach<'_>, fix: &Rectification) -> QueryResult<bool> {
        rectify::in_flight(c, reach, fix)
    }

    fn undo(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
        Events::release(connection, request_id)?;
        // A RESTRICT's lift: the content jobs it parked are due again (their bodies come now).
        crate::content::wake_released(connection, Timestamp::now())?;
        diesel::delete(suppressions::table.filter(suppressions::request_id.eq(DbUuid(request_id))))
            .execute(connection)?;
        Ok(())
    }

    /// A worker that claimed some of these events before the forget may still write their
    /// records (with the agent, for an agent's forget): wait until its lease ends. A worker never
    /// writes after its lease (it stops short of it), held events are never claimed again, and an
    /// agent's events claimed later are written without the agent.
    fn in_flight(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<bool> {
        let now = DbTimestamp::from(Timestamp::now());
        for rows in [
            Events::held_rows(connection, request_id)?,
            Events::held_agents(connection, request_id)?,
        ] {
            let leased = chunked(&rows, |ids| {
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

    /// Erases what the request holds but what a retention keeps: a kept event stays whole (its
    /// agent too), so that a later purge can still fingerprint it as it erases it.
    fn purge(&self, connection: &mut AnyConnection, purge: &Purge<'_>) -> QueryResult<Vec<Retained>> {
        let request_id = purge.request_id;
        // A webhook batch that starts during the purge must see the fingerprints below, or a
        // redelivery would find the result neither stored under its identity nor erased.
        lock_out_webhook_batches(connection)?;
        // The suppressions stay: late deliveries after the purge must still be dropped. And each
        // result the purge deletes or rewrites stays known by its fingerprint, so that the same
        // result delivered again, with whatever event time, is dropped too.
        let events = Events::keep_retained(connection, purge, Events::HOLD, RESULTS, reached)?;
        let agents = Events::keep_retained(connection, purge, Events::agent_hold()?, AGENT_RESULTS, reached)?;
        let retained = [events.retained, agents.retained].concat();
        let (events, agents) = (events.erase, agents.erase);
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
        Events::delete(connection, &events)?;
        // The agent leaves the inbox for good: their user id is replaced by a random one (the
        // natural key stays unique), and the event stays redacted, so its record never names them.
        Events::blank_agents(connection, &agents, |connection, ids| {
            ids.into_iter()
                .map(|id| inbox::replace_agent(connection, id.0))
                .sum::<QueryResult<usize>>()
        })?;
        Ok(retained)
    }

    fn held(&self, connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
        counts([
            (RESULTS, Events::count_held(connection, request_id)?),
            (AGENT_RESULTS, Events::count_held_agents(connection, request_id)?),
        ])
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
            let linked: Vec<DbUuid> = subject.interaction_ids.iter().map(|&id| id.into()).collect();
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

/// The inbox events an age-based clean-up may delete: none a request holds, whole or its agent,
/// and none a purge or a restriction noted kept ([`HeldTable::expirable`]).
pub(crate) fn expirable() -> Filter<inbox_events::table> {
    Events::expirable()
}
