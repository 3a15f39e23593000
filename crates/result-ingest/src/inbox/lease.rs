//! The worker's side: claiming due events for a lease, and settling a batch only while the lease
//! still holds it.

use super::*;
use crate::content::{ContentPlan, ProcessedRecord};
use domain::Channel;

/// An event a worker holds until its batch's lease ends.
#[derive(Debug, Clone)]
pub(super) struct Claimed {
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
pub(super) struct ClaimedBatch {
    pub events: Vec<Claimed>,
    pub lease_until: Timestamp,
}

/// Claims up to `limit` events due at `now`, leased until `lease_end`.
pub(super) fn claim_until(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease_end: Timestamp,
) -> QueryResult<ClaimedBatch> {
    let now_db = DbTimestamp::from(now);
    let lease_until = DbTimestamp::from(lease_end);
    // The lease is a column of its own, in no index (migration 000005): a claim is then a
    // heap-only update on PostgreSQL. Leased rows stay in `inbox_events_due`, at its front, so a
    // claim steps over at most the batches other workers hold.
    let ids = service_kit::database::claim_due_ids(
        connection,
        |c| {
            // A GDPR forget holds its subject's events back until undone or purged. The status
            // is a literal, so that the partial index `inbox_events_due` (whose predicate this
            // is) matches on both backends.
            let due = || {
                dsl::inbox_events
                    .filter(
                        status_is(InboxStatus::Pending)
                            .and(dsl::next_attempt_at.le(now_db))
                            .and(dsl::forgotten_by.is_null())
                            .and(dsl::lease_until.is_null().or(dsl::lease_until.le(now_db))),
                    )
                    .order(dsl::next_attempt_at)
                    .limit(limit)
                    .select(dsl::id)
            };
            service_kit::skip_locked!(c, due())
        },
        |c, ids| {
            diesel::update(dsl::inbox_events.filter(dsl::id.eq_any(ids)))
                .set((
                    dsl::lease_until.eq(Some(lease_until)),
                    dsl::attempts.eq(dsl::attempts + 1),
                ))
                .execute(c)
        },
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

/// The record a processed event became, and its channel, as the worker wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RecordMade {
    pub id: Uuid,
    pub channel: Channel,
}

/// What becomes of a claimed event after an attempt.
#[derive(Debug, Clone)]
pub(super) enum Settlement {
    /// `record`: none when the write was erased (a GDPR forget came meanwhile).
    Processed {
        record: Option<RecordMade>,
    },
    /// Due again at `next_attempt_at`; `reason` is shown to operators.
    Retry {
        reason: String,
        next_attempt_at: Timestamp,
    },
    Dead {
        reason: String,
    },
    /// Not attempted: the attempt is given back, due again at `next_attempt_at`.
    Postpone {
        next_attempt_at: Timestamp,
    },
}

/// Settles a worker's batch in one transaction, leased until `lease_until`, queueing the content
/// jobs `content` asks for of the records it marks processed. Only events the batch still holds
/// are settled (a worker that overran its lease changes nothing another has taken over); returns
/// how many.
pub(super) fn settle(
    connection: &mut AnyConnection,
    settlements: &[(Uuid, Settlement)],
    now: Timestamp,
    lease_until: Timestamp,
    content: &ContentPlan,
) -> QueryResult<usize> {
    let lease_until = DbTimestamp::from(lease_until);
    connection.transaction(|c| {
        let processed: Vec<(Uuid, Option<RecordMade>)> = settlements
            .iter()
            .filter_map(|(id, settlement)| match settlement {
                Settlement::Processed { record } => Some((*id, *record)),
                _ => None,
            })
            .collect();
        let mut settled = mark_processed_many(c, &processed, now, lease_until, content)?;
        for (id, settlement) in settlements {
            settled += match settlement {
                Settlement::Processed { .. } => 0,
                Settlement::Retry {
                    reason,
                    next_attempt_at,
                } => mark_retry(c, *id, reason, *next_attempt_at, lease_until)?,
                Settlement::Dead { reason } => mark_dead(c, *id, reason, now, lease_until)?,
                Settlement::Postpone { next_attempt_at } => postpone(c, *id, *next_attempt_at, lease_until)?,
            };
        }
        Ok(settled)
    })
}

/// Settles processed events (`(event id, its record)`) and queues their records' content jobs by
/// the channels the worker wrote (never `inbox_events.channel`, which an event a previous
/// version's pod accepted lacks): one statement for all of it on PostgreSQL, where each statement
/// is a round trip (the content jobs in it only while content is on); a row at a time on SQLite,
/// where it is not, then one insert of the content jobs (none while content is off).
fn mark_processed_many(
    connection: &mut AnyConnection,
    processed: &[(Uuid, Option<RecordMade>)],
    now: Timestamp,
    lease_until: DbTimestamp,
    content: &ContentPlan,
) -> QueryResult<usize> {
    if processed.is_empty() {
        return Ok(0);
    }
    match connection {
        AnyConnection::Postgresql(pg) => {
            let settle = postgres::SettleProcessedStatement {
                now: now.as_offset_date_time(),
                lease_until: lease_until.0,
                ids: processed.iter().map(|(id, _)| *id).collect(),
                record_ids: processed.iter().map(|(_, record)| record.map(|r| r.id)).collect(),
            };
            if content.is_off() {
                return settle.execute(pg);
            }
            let statement = postgres::SettleQueueingContentStatement {
                settle,
                record_channels: processed
                    .iter()
                    .map(|(_, record)| record.map(|r| r.channel.as_str()))
                    .collect(),
                first_ask: content.first_ask(now)?.as_offset_date_time(),
                channels_on: content.channel_names(),
            };
            let settled: i64 = statement.get_result(pg)?;
            usize::try_from(settled)
                .map_err(|_| diesel::result::Error::DeserializationError(format!("{settled} events settled").into()))
        }
        AnyConnection::Sqlite(_) => {
            let settled = processed.iter().try_fold(0, |settled, &(id, record)| {
                let record_id = record.map(|r| r.id);
                Ok::<_, diesel::result::Error>(settled + mark_processed(connection, id, record_id, now, lease_until)?)
            })?;
            let records: Vec<ProcessedRecord> = processed
                .iter()
                .filter_map(|&(event_id, record)| {
                    record.map(|r| ProcessedRecord {
                        event_id,
                        record_id: r.id,
                        channel: r.channel,
                    })
                })
                .collect();
            crate::content::queue_settled(connection, &records, content, now)?;
            Ok(settled)
        }
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

fn postpone(
    connection: &mut AnyConnection,
    id: Uuid,
    next_attempt_at: Timestamp,
    lease_until: DbTimestamp,
) -> QueryResult<usize> {
    diesel::update(still_leased(id, lease_until))
        .set((
            dsl::next_attempt_at.eq(DbTimestamp::from(next_attempt_at)),
            dsl::lease_until.eq(None::<DbTimestamp>),
            dsl::attempts.eq(dsl::attempts - 1),
        ))
        .execute(connection)
}
