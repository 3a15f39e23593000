//! The durable inbox: accept once, claim with a lease, settle as processed, retried or dead.
//!
//! A claim sets `lease_until` to the end of a lease and counts the attempt, in one short
//! transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never claim the same row; SQLite:
//! an immediate transaction, since it has one writer anyway). The work itself runs outside any
//! transaction; a worker that dies simply lets its lease run out and the event becomes due again.
//! The record is written with `Idempotency-Key` = event id, so a second attempt never writes twice.

use crate::schema::inbox_events::{self, dsl};
use diesel::prelude::*;
use domain::{GenesysUserId, HandleNormaliser, InteractionId, SupportResult, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

mod postgres;

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InboxStatus {
    /// Waiting for (or in) a worker's hands.
    Pending,
    /// Its record is written.
    Processed,
    /// Given up on, with its reason; an operator may replay it.
    Dead,
}

impl InboxStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Dead => "dead",
        }
    }

    /// A stored status; anything else is a corrupt row, an error.
    pub fn parse(value: &str) -> QueryResult<Self> {
        [Self::Pending, Self::Processed, Self::Dead]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| {
                diesel::result::Error::DeserializationError(format!("unknown inbox status {value:?}").into())
            })
    }
}

/// `status = '…'` with the status written into the statement rather than bound: the planner then
/// matches the partial index whose predicate names it, and knows how rare the status is (with a
/// bound parameter, PostgreSQL's generic plan must assume any status, and scans the table).
fn status_is(status: InboxStatus) -> diesel::dsl::Eq<dsl::status, StatusLiteral> {
    dsl::status.eq(StatusLiteral(status.as_str()))
}

/// A status as a literal in the statement's text. Not a `sql` fragment: diesel never keeps a
/// statement holding one prepared, and the claim would be parsed and planned on every call.
/// The statement cache keys such a statement by its text, which names the status.
#[derive(Debug, Clone, Copy)]
struct StatusLiteral(&'static str);

impl diesel::expression::Expression for StatusLiteral {
    type SqlType = diesel::sql_types::Text;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for StatusLiteral {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // One of this module's status constants, never outside input.
        out.push_sql("'");
        out.push_sql(self.0);
        out.push_sql("'");
        Ok(())
    }
}

impl diesel::query_builder::QueryId for StatusLiteral {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<GroupBy> diesel::expression::ValidGrouping<GroupBy> for StatusLiteral {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<QuerySource> diesel::expression::AppearsOnTable<QuerySource> for StatusLiteral {}

impl<QuerySource> diesel::expression::SelectableExpression<QuerySource> for StatusLiteral {}

/// What the webhook answers: the event's id, and whether it was already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: Uuid,
    pub duplicate: bool,
}

/// What became of a delivered result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Stored(Accepted),
    /// The result is about a subject forgotten after it happened: a late delivery that must not
    /// bring the data back. Nothing is stored.
    Suppressed,
}

/// A delivered result on its way into the inbox. `handle_key` is its ANI's search key,
/// `suppression_hashes` its identifiers as [`crate::gdpr::SuppressionKey`] hashes them,
/// `payload` its JSON as stored; `trace_context` the webhook request's trace.
pub struct Delivery {
    pub result: SupportResult,
    pub handle_key: String,
    pub payload: String,
    pub suppression_hashes: Vec<String>,
    pub trace_context: Option<String>,
}

impl Delivery {
    /// Everything the result's row needs, computed before it joins a batch.
    pub fn prepare(
        result: SupportResult,
        suppression: &crate::suppression::SuppressionKey,
        handles: &HandleNormaliser,
        trace_context: Option<String>,
    ) -> serde_json::Result<Self> {
        let handle_key = result.ani.key(handles).as_str().to_owned();
        Ok(Self {
            suppression_hashes: suppression.hashes_of_result(&result, &handle_key),
            payload: serde_json::to_string(&result)?,
            handle_key,
            trace_context,
            result,
        })
    }
}

/// The natural key: the same result delivered again is the same event.
type NaturalKey<'a> = (InteractionId, GenesysUserId, &'a str, Timestamp);

fn natural_key(result: &SupportResult) -> NaturalKey<'_> {
    (
        result.conversation_id,
        result.user_id,
        result.wrapup_code.as_str(),
        result.event_time,
    )
}

/// Stores each delivery as a pending event, or finds the event the same result created before
/// (same conversation, agent, wrap-up code and event time), in a constant number of statements
/// for the whole batch, and only for redeliveries a statement more each. A result about a subject
/// forgotten after it happened is not stored ([`Acceptance::Suppressed`]). Answers in the order
/// of `deliveries`. Atomic by itself: on PostgreSQL the batch is one statement (one round trip,
/// its own commit when no transaction is open), on SQLite one transaction.
pub fn accept_batch(
    connection: &mut AnyConnection,
    deliveries: &[Delivery],
    now: Timestamp,
) -> QueryResult<Vec<Acceptance>> {
    // The same result twice in one batch is one event: its first delivery decides, the others
    // are its duplicates.
    let keys: Vec<NaturalKey> = deliveries.iter().map(|d| natural_key(&d.result)).collect();
    let mut first_of_key: HashMap<&NaturalKey<'_>, usize> = HashMap::with_capacity(deliveries.len());
    let firsts: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(index, key)| *first_of_key.entry(key).or_insert(index))
        .collect();
    let batch = NewEvents {
        deliveries,
        firsts: &firsts,
        ids: deliveries.iter().map(|_| Uuid::now_v7()).collect(),
        now,
    };
    let Stored { inserted, suppressed } = match connection {
        AnyConnection::Postgresql(pg) => batch.store_in_one_statement(pg)?,
        AnyConnection::Sqlite(_) => connection.transaction(|c| batch.store_then_withdraw_suppressed(c))?,
    };

    let mut answers = Vec::with_capacity(deliveries.len());
    for (index, delivery) in deliveries.iter().enumerate() {
        let first = firsts[index];
        let answer = if suppressed[index] || suppressed[first] {
            Acceptance::Suppressed
        } else if inserted.contains(&batch.ids[first]) {
            Acceptance::Stored(Accepted {
                id: batch.ids[first],
                duplicate: first != index,
            })
        } else {
            // Delivered before this batch: rare enough for a lookup each.
            Acceptance::Stored(Accepted {
                id: existing_id(connection, &delivery.result)?,
                duplicate: true,
            })
        };
        answers.push(answer);
    }
    Ok(answers)
}

/// A webhook batch on its way into the inbox: a fresh id for each delivery; only the first
/// delivery of each natural key (`firsts[index] == index`) becomes a row.
struct NewEvents<'a> {
    deliveries: &'a [Delivery],
    firsts: &'a [usize],
    ids: Vec<Uuid>,
    now: Timestamp,
}

/// What a batch's write found: the ids it inserted (a redelivery of a stored result conflicts and
/// is not among them) and, for each delivery, whether a forget suppresses it.
struct Stored {
    inserted: HashSet<Uuid>,
    suppressed: Vec<bool>,
}

#[derive(QueryableByName)]
struct BatchOutcome {
    /// An event the statement inserted.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    inserted: Option<Uuid>,
    /// The index of a delivery a forget suppresses.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    suppressed: Option<i32>,
}

impl NewEvents<'_> {
    fn is_first(&self, index: usize) -> bool {
        self.firsts[index] == index
    }

    /// One column of the rows to insert (`rows`: their deliveries' indexes), for an array bind.
    fn column<'s, T>(&'s self, rows: &[usize], value: impl Fn(&'s Delivery) -> T) -> Vec<T> {
        rows.iter().map(|&index| value(&self.deliveries[index])).collect()
    }

    /// PostgreSQL: the suppression check and the insert of the rows it lets through, as one
    /// statement. The check must see a forget that commits while this batch waits for it: the
    /// forget holds a lock on `inbox_events` that conflicts with the insert's, and PostgreSQL
    /// takes a statement's locks (at parse and bind) before the snapshot it executes with (read
    /// committed), so a batch that waited reads the forget's suppressions and stores nothing it
    /// suppresses; a forget that comes later waits for this commit and hides the rows itself.
    /// (`forget_race` tests both orders.)
    fn store_in_one_statement(&self, connection: &mut diesel::PgConnection) -> QueryResult<Stored> {
        let index_of = |index: usize| i32::try_from(index).unwrap_or(i32::MAX);
        let (mut hash_delivery, mut hashes, mut hash_event_times) = (Vec::new(), Vec::new(), Vec::new());
        for (index, delivery) in self.deliveries.iter().enumerate() {
            for hash in &delivery.suppression_hashes {
                hash_delivery.push(index_of(index));
                hashes.push(hash.as_str());
                hash_event_times.push(delivery.result.event_time.as_offset_date_time());
            }
        }
        let rows: Vec<usize> = (0..self.deliveries.len()).filter(|&i| self.is_first(i)).collect();
        let statement = postgres::AcceptBatchStatement {
            hash_delivery,
            hashes,
            hash_event_times,
            now: self.now.as_offset_date_time(),
            row_delivery: rows.iter().map(|&i| index_of(i)).collect(),
            ids: rows.iter().map(|&i| self.ids[i]).collect(),
            conversation_ids: self.column(&rows, |d| DbUuid::from(d.result.conversation_id).0),
            user_ids: self.column(&rows, |d| DbUuid::from(d.result.user_id).0),
            wrapup_codes: self.column(&rows, |d| d.result.wrapup_code.as_str()),
            event_times: self.column(&rows, |d| d.result.event_time.as_offset_date_time()),
            payloads: self.column(&rows, |d| d.payload.as_str()),
            handle_keys: self.column(&rows, |d| d.handle_key.as_str()),
            trace_contexts: self.column(&rows, |d| d.trace_context.as_deref()),
        };
        let outcomes: Vec<BatchOutcome> = statement.load(connection)?;
        let mut stored = Stored {
            inserted: HashSet::with_capacity(rows.len()),
            suppressed: vec![false; self.deliveries.len()],
        };
        for outcome in outcomes {
            stored.inserted.extend(outcome.inserted);
            if let Some(index) = outcome.suppressed {
                let flag = usize::try_from(index).ok().and_then(|i| stored.suppressed.get_mut(i));
                *flag.ok_or_else(|| {
                    diesel::result::Error::DeserializationError(
                        format!(
                            "the batch statement named delivery {index} of {}",
                            self.deliveries.len()
                        )
                        .into(),
                    )
                })? = true;
            }
        }
        Ok(stored)
    }

    /// SQLite: one multi-row insert, then the suppression check, then the suppressed rows taken
    /// out again, in one transaction (`accept_batch`'s). Checked after the insert, whose write lock
    /// serialises it with a concurrent forget (a read first would have to upgrade its lock, and
    /// fail, under concurrency).
    fn store_then_withdraw_suppressed(&self, connection: &mut AnyConnection) -> QueryResult<Stored> {
        let now = DbTimestamp::from(self.now);
        let rows: Vec<_> = (0..self.deliveries.len())
            .filter(|&index| self.is_first(index))
            .map(|index| {
                let delivery = &self.deliveries[index];
                let result = &delivery.result;
                (
                    dsl::id.eq(DbUuid(self.ids[index])),
                    dsl::conversation_id.eq(DbUuid::from(result.conversation_id)),
                    dsl::user_id.eq(DbUuid::from(result.user_id)),
                    dsl::wrapup_code.eq(result.wrapup_code.as_str()),
                    dsl::event_time.eq(DbTimestamp::from(result.event_time)),
                    dsl::payload.eq(delivery.payload.as_str()),
                    dsl::customer_handle_key.eq(Some(delivery.handle_key.as_str())),
                    dsl::trace_context.eq(delivery.trace_context.as_deref()),
                    dsl::status.eq(InboxStatus::Pending.as_str()),
                    dsl::attempts.eq(0),
                    dsl::next_attempt_at.eq(now),
                    dsl::accepted_at.eq(now),
                    dsl::budget_started_at.eq(now),
                )
            })
            .collect();
        let inserted: Vec<DbUuid> = per_backend!(connection, |c| diesel::insert_into(inbox_events::table)
            .values(&rows)
            .on_conflict((dsl::conversation_id, dsl::user_id, dsl::wrapup_code, dsl::event_time))
            .do_nothing()
            .returning(dsl::id)
            .get_results(c))?;
        let mut inserted: HashSet<Uuid> = inserted.into_iter().map(|id| id.0).collect();

        let suppressed = crate::suppression::suppressed_among(
            connection,
            self.deliveries
                .iter()
                .map(|d| (d.suppression_hashes.as_slice(), d.result.event_time)),
        )?;
        let withdrawn: Vec<DbUuid> = (0..self.deliveries.len())
            .filter(|&index| suppressed[index] && inserted.remove(&self.ids[index]))
            .map(|index| DbUuid(self.ids[index]))
            .collect();
        if !withdrawn.is_empty() {
            diesel::delete(dsl::inbox_events.filter(dsl::id.eq_any(&withdrawn))).execute(connection)?;
        }
        Ok(Stored { inserted, suppressed })
    }
}

fn existing_id(connection: &mut AnyConnection, result: &SupportResult) -> QueryResult<Uuid> {
    let existing: DbUuid = dsl::inbox_events
        .filter(dsl::conversation_id.eq(DbUuid::from(result.conversation_id)))
        .filter(dsl::user_id.eq(DbUuid::from(result.user_id)))
        .filter(dsl::wrapup_code.eq(result.wrapup_code.as_str()))
        .filter(dsl::event_time.eq(DbTimestamp::from(result.event_time)))
        .select(dsl::id)
        .first(connection)?;
    Ok(existing.0)
}

/// An event a worker holds until its batch's lease ends.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub result: SupportResult,
    pub attempts: i32,
    pub accepted_at: Timestamp,
    pub budget_started_at: Timestamp,
    /// The webhook request's `traceparent`: the worker continues that trace.
    pub trace_context: Option<String>,
    /// A GDPR forget of the agent holds the event: its record names no agent.
    pub agent_redacted: bool,
}

/// A claimed batch: its events, and the end of their lease. Each claim's lease ends later than
/// any earlier claim's of the same events, so it also tells whether the batch still holds them.
#[derive(Debug, Clone)]
pub struct ClaimedBatch {
    pub events: Vec<Claimed>,
    pub lease_until: Timestamp,
}

/// Claims up to `limit` due events for `lease`.
pub fn claim_due(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease: Duration,
) -> QueryResult<ClaimedBatch> {
    let now_db = DbTimestamp::from(now);
    let lease_end = Timestamp::from_offset_date_time(now.as_offset_date_time() + lease)
        .ok_or_else(|| diesel::result::Error::SerializationError("the lease would end past year 9999".into()))?;
    let lease_until = DbTimestamp::from(lease_end);
    // The lease is a column of its own, in no index (migration 000005): a claim is then a
    // heap-only update on PostgreSQL. Leased rows stay in `inbox_events_due`, at its front, so a
    // claim steps over at most the batches other workers hold.
    let ids = service_kit::claim_due_ids!(
        connection,
        dsl::inbox_events,
        dsl::id,
        order_by dsl::next_attempt_at,
        dsl::attempts,
        // A GDPR forget holds its subject's events back until undone or purged. The status is a
        // literal, so that the partial index `inbox_events_due` (whose predicate this is)
        // matches on both backends.
        status_is(InboxStatus::Pending)
            .and(dsl::next_attempt_at.le(now_db))
            .and(dsl::forgotten_by.is_null())
            .and(dsl::lease_until.is_null().or(dsl::lease_until.le(now_db))),
        limit,
        lease dsl::lease_until => Some(lease_until)
    )?;
    if ids.is_empty() {
        return Ok(ClaimedBatch {
            events: Vec::new(),
            lease_until: lease_end,
        });
    }
    type Row = (DbUuid, String, i32, DbTimestamp, DbTimestamp, Option<String>, bool);
    let rows: Vec<Row> = dsl::inbox_events
        .filter(dsl::id.eq_any(&ids))
        .select((
            dsl::id,
            dsl::payload,
            dsl::attempts,
            dsl::accepted_at,
            dsl::budget_started_at,
            dsl::trace_context,
            dsl::agent_redacted,
        ))
        .load(connection)?;
    let events = rows
        .into_iter()
        .map(
            |(id, payload, attempts, accepted_at, budget_started_at, trace_context, agent_redacted)| {
                let result: SupportResult = serde_json::from_str(&payload)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
                Ok(Claimed {
                    id: id.0,
                    result,
                    attempts,
                    accepted_at: accepted_at.into_domain()?,
                    budget_started_at: budget_started_at.into_domain()?,
                    trace_context,
                    agent_redacted,
                })
            },
        )
        .collect::<QueryResult<Vec<_>>>()?;
    Ok(ClaimedBatch {
        events,
        lease_until: lease_end,
    })
}

/// Replaces an event's agent for good (a purged GDPR forget of the agent): a random user id takes
/// theirs, in the row and in the stored result, and the event stays redacted. Returns 1 when the
/// event was there.
pub fn replace_agent(connection: &mut AnyConnection, id: Uuid) -> QueryResult<usize> {
    let payload: Option<String> = dsl::inbox_events
        .find(DbUuid(id))
        .select(dsl::payload)
        .first(connection)
        .optional()?;
    let Some(payload) = payload else {
        return Ok(0);
    };
    let mut result: SupportResult =
        serde_json::from_str(&payload).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    result.user_id = GenesysUserId::from_uuid(Uuid::new_v4());
    let payload = serde_json::to_string(&result).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::update(dsl::inbox_events.find(DbUuid(id)))
        .set((
            dsl::user_id.eq(DbUuid::from(result.user_id)),
            dsl::payload.eq(payload),
            dsl::agent_redacted.eq(true),
        ))
        .execute(connection)
}

/// The rows of `id` the batch leased until `lease_until` still holds: pending, and the lease
/// not taken over by another claim.
fn still_leased(id: Uuid, lease_until: DbTimestamp) -> StillLeased {
    dsl::inbox_events
        .find(DbUuid(id))
        .filter(dsl::status.eq(InboxStatus::Pending.as_str()))
        .filter(dsl::lease_until.eq(lease_until))
}

type StillLeased = diesel::dsl::Filter<
    diesel::dsl::Filter<diesel::dsl::Find<dsl::inbox_events, DbUuid>, diesel::dsl::Eq<dsl::status, &'static str>>,
    diesel::dsl::Eq<dsl::lease_until, DbTimestamp>,
>;

fn mark_processed(
    connection: &mut AnyConnection,
    id: Uuid,
    record_id: Option<Uuid>,
    now: Timestamp,
    lease_until: DbTimestamp,
) -> QueryResult<usize> {
    diesel::update(still_leased(id, lease_until))
        .set((
            dsl::status.eq(InboxStatus::Processed.as_str()),
            dsl::processed_at.eq(Some(DbTimestamp::from(now))),
            dsl::record_id.eq(record_id.map(DbUuid)),
            dsl::last_error.eq(None::<String>),
            dsl::lease_until.eq(None::<DbTimestamp>),
        ))
        .execute(connection)
}

/// What becomes of a claimed event after an attempt.
#[derive(Debug, Clone)]
pub enum Settlement {
    Processed {
        record_id: Option<Uuid>,
    },
    /// Due again at `next_attempt_at`; `reason` is shown to operators.
    Retry {
        reason: String,
        next_attempt_at: Timestamp,
    },
    Dead {
        reason: String,
    },
}

/// Settles a worker's batch in one transaction, leased until `lease_until`. Only events the
/// batch still holds are settled (a worker that overran its lease changes nothing another has
/// taken over); returns how many.
pub fn settle(
    connection: &mut AnyConnection,
    settlements: &[(Uuid, Settlement)],
    now: Timestamp,
    lease_until: Timestamp,
) -> QueryResult<usize> {
    let lease_until = DbTimestamp::from(lease_until);
    connection.transaction(|c| {
        let processed: Vec<(Uuid, Option<Uuid>)> = settlements
            .iter()
            .filter_map(|(id, settlement)| match settlement {
                Settlement::Processed { record_id } => Some((*id, *record_id)),
                _ => None,
            })
            .collect();
        let mut settled = mark_processed_many(c, &processed, now, lease_until)?;
        for (id, settlement) in settlements {
            settled += match settlement {
                Settlement::Processed { .. } => 0,
                Settlement::Retry {
                    reason,
                    next_attempt_at,
                } => mark_retry(c, *id, reason, *next_attempt_at, lease_until)?,
                Settlement::Dead { reason } => mark_dead(c, *id, reason, now, lease_until)?,
            };
        }
        Ok(settled)
    })
}

/// Settles processed events (`(event id, record id)`): one statement for all of them on
/// PostgreSQL, where each statement is a round trip; a row at a time on SQLite, where it is not.
fn mark_processed_many(
    connection: &mut AnyConnection,
    processed: &[(Uuid, Option<Uuid>)],
    now: Timestamp,
    lease_until: DbTimestamp,
) -> QueryResult<usize> {
    match connection {
        AnyConnection::Postgresql(pg) => {
            let statement = postgres::SettleProcessedStatement {
                now: now.as_offset_date_time(),
                lease_until: lease_until.0,
                ids: processed.iter().map(|(id, _)| *id).collect(),
                record_ids: processed.iter().map(|(_, record_id)| *record_id).collect(),
            };
            statement.execute(pg)
        }
        AnyConnection::Sqlite(_) => processed.iter().try_fold(0, |settled, &(id, record_id)| {
            Ok(settled + mark_processed(connection, id, record_id, now, lease_until)?)
        }),
    }
}

fn mark_retry(
    connection: &mut AnyConnection,
    id: Uuid,
    reason: &str,
    next_attempt_at: Timestamp,
    lease_until: DbTimestamp,
) -> QueryResult<usize> {
    diesel::update(still_leased(id, lease_until))
        .set((
            dsl::next_attempt_at.eq(DbTimestamp::from(next_attempt_at)),
            dsl::lease_until.eq(None::<DbTimestamp>),
            dsl::last_error.eq(Some(reason)),
        ))
        .execute(connection)
}

fn mark_dead(
    connection: &mut AnyConnection,
    id: Uuid,
    reason: &str,
    now: Timestamp,
    lease_until: DbTimestamp,
) -> QueryResult<usize> {
    diesel::update(still_leased(id, lease_until))
        .set((
            dsl::status.eq(InboxStatus::Dead.as_str()),
            dsl::lease_until.eq(None::<DbTimestamp>),
            dsl::last_error.eq(Some(reason)),
            dsl::dead_at.eq(Some(DbTimestamp::from(now))),
        ))
        .execute(connection)
}

/// Dead events (one, or all) back to pending, due now, with a fresh retry budget.
pub fn retry_dead(connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
    let now = DbTimestamp::from(now);
    let mut query = diesel::update(dsl::inbox_events)
        .filter(dsl::status.eq(InboxStatus::Dead.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .into_boxed();
    if let Some(id) = id {
        query = query.filter(dsl::id.eq(DbUuid(id)));
    }
    query
        .set((
            dsl::status.eq(InboxStatus::Pending.as_str()),
            dsl::next_attempt_at.eq(now),
            dsl::lease_until.eq(None::<DbTimestamp>),
            dsl::budget_started_at.eq(now),
            dsl::dead_at.eq(None::<DbTimestamp>),
        ))
        .execute(connection)
}

/// Removes up to `chunk` events processed before `before`, oldest first; returns how many. An
/// event is accepted before it is processed, so the bound on `accepted_at` changes nothing in
/// what goes: with the order and the limit it lets the listing index `(status, accepted_at, id)`
/// read just the chunk, where a plain `DELETE … WHERE processed_at < …` read every retained
/// event (a sequential scan of the table on PostgreSQL). Each chunk is two short statements.
pub fn remove_processed_before(connection: &mut AnyConnection, before: Timestamp, chunk: i64) -> QueryResult<usize> {
    let before = DbTimestamp::from(before);
    let oldest_processed: Vec<DbUuid> = dsl::inbox_events
        .filter(status_is(InboxStatus::Processed))
        .filter(dsl::accepted_at.lt(before))
        .filter(dsl::processed_at.lt(before))
        .order(dsl::accepted_at)
        .select(dsl::id)
        .limit(chunk)
        .load(connection)?;
    if oldest_processed.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        dsl::inbox_events
            .filter(dsl::id.eq_any(&oldest_processed))
            .filter(dsl::status.eq(InboxStatus::Processed.as_str())),
    )
    .execute(connection)
}

/// Erases up to `chunk` dead events that died before `before` (`ingest.dead_retention_days`):
/// their results are personal data kept no longer than the retention says. Returns how many.
pub fn remove_dead_before(connection: &mut AnyConnection, before: Timestamp, chunk: i64) -> QueryResult<usize> {
    let expired: Vec<DbUuid> = dsl::inbox_events
        .filter(status_is(InboxStatus::Dead))
        .filter(dsl::dead_at.lt(DbTimestamp::from(before)))
        .select(dsl::id)
        .limit(chunk)
        .load(connection)?;
    if expired.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        dsl::inbox_events
            .filter(dsl::id.eq_any(&expired))
            .filter(dsl::status.eq(InboxStatus::Dead.as_str())),
    )
    .execute(connection)
}

/// How full the inbox is: what waits (pending) and what needs an operator (dead). Processed
/// events are not counted: they are the bulk of the table (kept `ingest.retention_days`), and
/// counting them on every housekeeping round would read it all; `ccbridge_ingest_processed_total`
/// counts them as they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending event was accepted.
    pub oldest_pending: Option<Timestamp>,
}

pub fn depth(connection: &mut AnyConnection) -> QueryResult<QueueDepth> {
    // Pending: from the claim index `inbox_events_due`, whose predicate this is. Dead: from the
    // listing index. Neither reads more rows than it counts.
    let pending: i64 = dsl::inbox_events
        .filter(status_is(InboxStatus::Pending))
        .filter(dsl::forgotten_by.is_null())
        .count()
        .get_result(connection)?;
    let dead: i64 = dsl::inbox_events
        .filter(status_is(InboxStatus::Dead))
        .filter(dsl::forgotten_by.is_null())
        .count()
        .get_result(connection)?;
    let oldest: Option<DbTimestamp> = dsl::inbox_events
        .filter(dsl::status.eq(InboxStatus::Pending.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .order(dsl::accepted_at)
        .select(dsl::accepted_at)
        .first(connection)
        .optional()?;
    Ok(QueueDepth {
        pending,
        dead,
        oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
    })
}

/// One event as operators see it: no personal data.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub status: InboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub accepted_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub processed_at: Option<Timestamp>,
    pub record_id: Option<Uuid>,
}

type SummaryRow = (
    DbUuid,
    DbUuid,
    String,
    i32,
    Option<String>,
    DbTimestamp,
    DbTimestamp,
    Option<DbTimestamp>,
    Option<DbTimestamp>,
    Option<DbUuid>,
);

/// Events with `status`, oldest first, `limit` after the `(accepted_at, id)` cursor.
pub fn list(
    connection: &mut AnyConnection,
    status: InboxStatus,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<EventSummary>> {
    let mut query = dsl::inbox_events
        .filter(dsl::status.eq(status.as_str()))
        .filter(dsl::forgotten_by.is_null())
        .into_boxed();
    if let Some((at, id)) = after {
        let at = DbTimestamp::from(at);
        query = query.filter(
            dsl::accepted_at
                .ge(at)
                .and(dsl::accepted_at.gt(at).or(dsl::id.gt(DbUuid(id)))),
        );
    }
    let rows: Vec<SummaryRow> = query
        .order((dsl::accepted_at, dsl::id))
        .limit(limit)
        .select((
            dsl::id,
            dsl::conversation_id,
            dsl::status,
            dsl::attempts,
            dsl::last_error,
            dsl::accepted_at,
            dsl::next_attempt_at,
            dsl::lease_until,
            dsl::processed_at,
            dsl::record_id,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(
            |(
                id,
                conversation_id,
                status,
                attempts,
                last_error,
                accepted_at,
                next_attempt_at,
                lease_until,
                processed_at,
                record_id,
            )| {
                // While a worker holds the event, it is next due when the lease ends.
                let next_attempt_at = match lease_until {
                    Some(lease_until) if lease_until.0 > next_attempt_at.0 => lease_until,
                    _ => next_attempt_at,
                };
                Ok(EventSummary {
                    id: id.0,
                    conversation_id: conversation_id.0,
                    status: InboxStatus::parse(&status)?,
                    attempts,
                    last_error,
                    accepted_at: accepted_at.into_domain()?,
                    next_attempt_at: next_attempt_at.into_domain()?,
                    processed_at: processed_at.map(DbTimestamp::into_domain).transpose()?,
                    record_id: record_id.map(|r| r.0),
                })
            },
        )
        .collect()
}

pub fn status_of(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<InboxStatus>> {
    dsl::inbox_events
        .find(DbUuid(id))
        .filter(dsl::forgotten_by.is_null())
        .select(dsl::status)
        .first::<String>(connection)
        .optional()?
        .map(|status| InboxStatus::parse(&status))
        .transpose()
}
