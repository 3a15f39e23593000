//! `content_jobs` as one of service-kit's queues ([`service_kit::queue::Storage`]): a job per
//! record whose content is fetched, keyed by the record (queued once however often its inbox
//! batch runs), claimed with a lease (`next_attempt_at` holds the lease's end while claimed),
//! settled only while still leased, kept once done (for `ingest.retention_days`, so that an inbox
//! batch run again queues nothing anew), dead-lettered after its budget. A job under a GDPR hold
//! here is parked (`next_attempt_at` far off) until the hold is lifted.

use super::schema::content_jobs::{self, dsl};
use super::ContentPlan;
use crate::inbox::InboxStatus;
use crate::schema::inbox_events;
use diesel::prelude::*;
use domain::{Channel, InteractionId, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::oldest_first_after;
use service_kit::queue::{settle_each, Claim, Claimed, Depth, Page, Settle, Settlement, Status, Storage, Summary};
use std::num::NonZeroU32;
use uuid::Uuid;

/// What every job asks for (the operator listing's `kind`).
const KIND: &str = "body";

/// A job's state, as stored.
const PENDING: &str = "pending";
const DONE: &str = "done";
const DEAD: &str = "dead";

/// What a claimed job hands its run: ids, the channel, when it was queued.
#[derive(Debug, Clone)]
pub struct ContentEntry {
    /// The record (also the job's id).
    pub record_id: Uuid,
    pub interaction_id: InteractionId,
    pub channel: Channel,
    /// When the record was written and the job queued: `ingest.content.wait_for` counts from it.
    pub queued_at: Timestamp,
}

/// The content queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentQueue;

fn corrupt(what: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("content_jobs: {what}").into())
}

fn attempts(value: i32) -> QueryResult<u32> {
    u32::try_from(value).map_err(|_| corrupt("attempts below zero".to_owned()))
}

fn status(stored: &str) -> QueryResult<Status> {
    match stored {
        PENDING => Ok(Status::Pending),
        DONE => Ok(Status::Done),
        DEAD => Ok(Status::Dead),
        other => Err(corrupt(format!("status {other:?}"))),
    }
}

const fn stored(status: Status) -> &'static str {
    match status {
        Status::Pending => PENDING,
        Status::Done => DONE,
        Status::Dead => DEAD,
    }
}

/// A job to queue: the record written, its interaction and channel.
#[derive(Debug, Clone, Copy)]
struct NewJob {
    record_id: Uuid,
    interaction_id: InteractionId,
    channel: Channel,
}

/// A record an inbox settlement marks processed: its event, the record, and the record's channel
/// as the worker wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessedRecord {
    pub event_id: Uuid,
    pub record_id: Uuid,
    pub channel: Channel,
}

/// SQLite's half of an inbox settlement's content jobs (PostgreSQL queues them in the
/// settlement's statement, `inbox::postgres`): in the settlement's transaction, a job for each
/// of `records` of a channel whose content is on whose event is now processed into it, first due
/// by `plan`; a record queued before is left as it is. The channel is the worker's, never
/// `inbox_events.channel` (an event a previous version's pod accepted has none). Nothing is read
/// when content is off. Answers how many were queued now.
pub(crate) fn queue_settled(
    connection: &mut AnyConnection,
    records: &[ProcessedRecord],
    plan: &ContentPlan,
    now: Timestamp,
) -> QueryResult<usize> {
    let records: Vec<&ProcessedRecord> = records.iter().filter(|r| plan.covers(r.channel)).collect();
    if records.is_empty() {
        return Ok(0);
    }
    let first_ask = plan.first_ask(now)?;
    let mut jobs = Vec::with_capacity(records.len());
    for chunk in records.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().map(|r| DbUuid(r.event_id)).collect();
        // Only events this settlement marked processed (a lost lease settled none).
        let settled: Vec<(DbUuid, Option<DbUuid>, DbUuid)> = inbox_events::table
            .filter(inbox_events::id.eq_any(ids))
            .filter(inbox_events::status.eq(InboxStatus::Processed.as_str()))
            .select((inbox_events::id, inbox_events::record_id, inbox_events::conversation_id))
            .load(connection)?;
        for (event_id, record_id, interaction_id) in settled {
            let Some(record) = chunk
                .iter()
                .find(|r| r.event_id == event_id.0 && record_id.map(|id| id.0) == Some(r.record_id))
            else {
                continue;
            };
            jobs.push(NewJob {
                record_id: record.record_id,
                interaction_id: interaction_id.into(),
                channel: record.channel,
            });
        }
    }
    enqueue(connection, &jobs, now, first_ask)
}

/// Queues `jobs` at `now`, first due at `first_ask`, in one statement; a record queued before is
/// left as it is. Answers how many were queued now.
fn enqueue(
    connection: &mut AnyConnection,
    jobs: &[NewJob],
    now: Timestamp,
    first_ask: Timestamp,
) -> QueryResult<usize> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let (now, first_ask) = (DbTimestamp::from(now), DbTimestamp::from(first_ask));
    let rows: Vec<_> = jobs
        .iter()
        .map(|job| {
            (
                dsl::record_id.eq(DbUuid(job.record_id)),
                dsl::interaction_id.eq(DbUuid::from(job.interaction_id)),
                dsl::channel.eq(job.channel.as_str()),
                dsl::status.eq(PENDING),
                dsl::attempts.eq(0),
                dsl::next_attempt_at.eq(first_ask),
                dsl::created_at.eq(now),
            )
        })
        .collect();
    service_kit::per_backend!(connection, |c| diesel::insert_into(content_jobs::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))
}

/// A GDPR forget of a subject (`request_id`, holding the subject's inbox events): removes the
/// jobs of the records those events became and of the `interactions` the request names, whatever
/// their state, so that no content of theirs is fetched any more and no id of theirs stays (the
/// events are held: their batch never runs again to queue them anew). Answers how many.
pub fn forget(
    connection: &mut AnyConnection,
    request_id: Uuid,
    interactions: &std::collections::BTreeSet<InteractionId>,
) -> QueryResult<usize> {
    use crate::schema::inbox_events::dsl as events;
    let held: Vec<Option<DbUuid>> = events::inbox_events
        .filter(events::forgotten_by.eq(Some(DbUuid(request_id))))
        .filter(events::record_id.is_not_null())
        .select(events::record_id)
        .load(connection)?;
    let records: Vec<DbUuid> = held.into_iter().flatten().collect();
    let interactions: Vec<DbUuid> = interactions.iter().map(|&id| DbUuid::from(id)).collect();
    let mut removed = 0;
    for ids in records.chunks(500) {
        removed += diesel::delete(content_jobs::table.filter(dsl::record_id.eq_any(ids))).execute(connection)?;
    }
    for ids in interactions.chunks(500) {
        removed += diesel::delete(content_jobs::table.filter(dsl::interaction_id.eq_any(ids))).execute(connection)?;
    }
    Ok(removed)
}

/// Deletes up to `limit` done jobs that ended before `before`; answers how many.
pub fn remove_done_before(connection: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<usize> {
    let ended: Vec<DbUuid> = content_jobs::table
        .filter(dsl::status.eq(DONE))
        .filter(dsl::ended_at.lt(DbTimestamp::from(before)))
        .order(dsl::ended_at)
        .limit(limit)
        .select(dsl::record_id)
        .load(connection)?;
    diesel::delete(
        content_jobs::table
            .filter(dsl::record_id.eq_any(ended))
            .filter(dsl::status.eq(DONE)),
    )
    .execute(connection)
}

type Row = (DbUuid, DbUuid, String, i32, DbTimestamp, Option<DbTimestamp>);

/// The events a GDPR request holds here of the job's record (by the conversation's index, then
/// the record): a job under a RESTRICT's hold.
fn held() -> HeldEvents {
    inbox_events::table
        .filter(inbox_events::conversation_id.eq(dsl::interaction_id))
        .filter(inbox_events::record_id.eq(dsl::record_id.nullable()))
        .filter(inbox_events::forgotten_by.is_not_null())
}

type HeldEvents = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<inbox_events::table, diesel::dsl::Eq<inbox_events::conversation_id, dsl::interaction_id>>,
        diesel::dsl::Eq<inbox_events::record_id, diesel::dsl::Nullable<dsl::record_id>>,
    >,
    diesel::dsl::IsNotNull<inbox_events::forgotten_by>,
>;

/// What the operators' listing says of a parked job in place of its last error (it has no next
/// attempt): fixed words.
const PARKED: &str = "parked: a GDPR restriction holds its record; woken when it is lifted";

/// A parked job's next attempt: never due by time, only once woken ([`wake_released`]). A job is
/// parked when it is pending at that time: reported apart from the pending ones ([`Depth`], the
/// operators' listing), so that a long restriction never looks like a stuck backlog.
fn parked_until() -> QueryResult<Timestamp> {
    Timestamp::parse("9999-01-01T00:00:00Z").map_err(|_| corrupt("the parked jobs' time".to_owned()))
}

/// Wakes the parked jobs whose records' events no GDPR request holds any more: due at `now`.
/// A RESTRICT's lift calls it in its transaction, and the queue's housekeeping for a job a claim
/// parked while the lift committed. Answers how many.
pub fn wake_released(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<usize> {
    diesel::update(
        dsl::content_jobs
            .filter(dsl::status.eq(PENDING))
            .filter(dsl::next_attempt_at.eq(DbTimestamp::from(parked_until()?)))
            .filter(diesel::dsl::not(diesel::dsl::exists(held()))),
    )
    .set(dsl::next_attempt_at.eq(DbTimestamp::from(now)))
    .execute(connection)
}

impl Storage for ContentQueue {
    const QUEUE: &'static str = "ingest_content";
    type Item = ContentEntry;

    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<ContentEntry>>> {
        let (now, limit, lease_until) = (DbTimestamp::from(claim.now), claim.limit, claim.lease_until);
        service_kit::database::write_transaction(connection, |c| {
            let due = || {
                dsl::content_jobs
                    .filter(dsl::status.eq(PENDING))
                    .filter(dsl::next_attempt_at.le(now))
                    .order(dsl::next_attempt_at)
                    .limit(limit)
                    .select((
                        (
                            dsl::record_id,
                            dsl::interaction_id,
                            dsl::channel,
                            dsl::attempts,
                            dsl::created_at,
                            dsl::retried_at,
                        ),
                        diesel::dsl::exists(held()),
                    ))
            };
            let found: Vec<(Row, bool)> = service_kit::skip_locked!(c, due())?;
            // A job whose record's event a GDPR request holds here (a RESTRICT; a FORGET removed
            // its job) is parked, not run: nothing of the subject is fetched until the hold is
            // lifted, and no claim reads it again until then ([`wake_released`]).
            let (parked, rows): (Vec<_>, Vec<_>) = found.into_iter().partition(|(_, held)| *held);
            if !parked.is_empty() {
                let ids: Vec<DbUuid> = parked.iter().map(|(row, _)| row.0).collect();
                diesel::update(dsl::content_jobs.filter(dsl::record_id.eq_any(&ids)))
                    .set(dsl::next_attempt_at.eq(DbTimestamp::from(parked_until()?)))
                    .execute(c)?;
            }
            let rows: Vec<Row> = rows.into_iter().map(|(row, _)| row).collect();
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<DbUuid> = rows.iter().map(|row| row.0).collect();
            diesel::update(dsl::content_jobs.filter(dsl::record_id.eq_any(&ids)))
                .set((
                    dsl::next_attempt_at.eq(DbTimestamp::from(lease_until)),
                    dsl::attempts.eq(dsl::attempts + 1),
                ))
                .execute(c)?;
            rows.into_iter()
                .map(|(record, interaction, channel, tried, created, retried)| {
                    let tried = NonZeroU32::new(attempts(tried)? + 1)
                        .ok_or_else(|| corrupt("attempts at their maximum".to_owned()))?;
                    let queued_at = created.into_domain()?;
                    Ok(Claimed {
                        id: record.0,
                        attempts: tried,
                        since: retried.map(DbTimestamp::into_domain).transpose()?.unwrap_or(queued_at),
                        lease_until,
                        item: ContentEntry {
                            record_id: record.0,
                            interaction_id: interaction.into(),
                            channel: Channel::parse(&channel).map_err(|_| corrupt(format!("channel {channel:?}")))?,
                            queued_at,
                        },
                    })
                })
                .collect()
        })
    }

    fn settle(&self, connection: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize> {
        settle_each(connection, settlements, |c, settlement| {
            // Only while the job is still this claim's: pending, leased until its lease_until.
            let mine = dsl::content_jobs
                .filter(dsl::record_id.eq(DbUuid(settlement.id)))
                .filter(dsl::status.eq(PENDING))
                .filter(dsl::next_attempt_at.eq(DbTimestamp::from(settlement.lease_until)));
            let at = DbTimestamp::from(settlement.settled_at);
            match &settlement.settle {
                Settle::Done => diesel::update(mine)
                    .set((
                        dsl::status.eq(DONE),
                        dsl::ended_at.eq(Some(at)),
                        dsl::last_error.eq(None::<String>),
                    ))
                    .execute(c),
                Settle::Retry { at: next, reason } => diesel::update(mine)
                    .set((
                        dsl::next_attempt_at.eq(DbTimestamp::from(*next)),
                        dsl::last_error.eq(Some(reason.as_str())),
                    ))
                    .execute(c),
                Settle::Dead { reason } => diesel::update(mine)
                    .set((
                        dsl::status.eq(DEAD),
                        dsl::dead_at.eq(Some(at)),
                        dsl::last_error.eq(Some(reason.as_str())),
                    ))
                    .execute(c),
                Settle::Postpone { at: next } => diesel::update(mine)
                    .set((
                        dsl::next_attempt_at.eq(DbTimestamp::from(*next)),
                        dsl::attempts.eq(dsl::attempts - 1),
                    ))
                    .execute(c),
            }
        })
    }

    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>> {
        let parked_at = DbTimestamp::from(parked_until()?);
        let query = dsl::content_jobs
            .filter(dsl::status.eq(stored(page.status)))
            .into_boxed();
        let rows: Vec<(DbUuid, String, i32, DbTimestamp, DbTimestamp, Option<String>)> =
            oldest_first_after!(query, dsl::created_at, dsl::record_id, page.after, page.limit)
                .select((
                    dsl::record_id,
                    dsl::status,
                    dsl::attempts,
                    dsl::created_at,
                    dsl::next_attempt_at,
                    dsl::last_error,
                ))
                .load(connection)?;
        rows.into_iter()
            .map(|(id, stored, tried, created, next, last_error)| {
                let status = status(&stored)?;
                let parked = status == Status::Pending && next == parked_at;
                Ok(Summary {
                    id: id.0,
                    kind: KIND,
                    status,
                    attempts: attempts(tried)?,
                    created_at: created.into_domain()?,
                    next_attempt_at: match status {
                        Status::Pending if !parked => Some(next.into_domain()?),
                        Status::Pending | Status::Dead | Status::Done => None,
                    },
                    last_error: if parked { Some(PARKED.to_owned()) } else { last_error },
                })
            })
            .collect()
    }

    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>> {
        let found: Option<String> = dsl::content_jobs
            .find(DbUuid(id))
            .select(dsl::status)
            .first(connection)
            .optional()?;
        found.as_deref().map(status).transpose()
    }

    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
        let now = DbTimestamp::from(now);
        let fresh = (
            dsl::status.eq(PENDING),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(now),
            dsl::retried_at.eq(Some(now)),
            dsl::dead_at.eq(None::<DbTimestamp>),
        );
        let dead = dsl::content_jobs.filter(dsl::status.eq(DEAD));
        match id {
            Some(id) => diesel::update(dead.filter(dsl::record_id.eq(DbUuid(id))))
                .set(fresh)
                .execute(connection),
            None => diesel::update(dead).set(fresh).execute(connection),
        }
    }

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth> {
        let parked_until = DbTimestamp::from(parked_until()?);
        let pending = dsl::content_jobs
            .filter(dsl::status.eq(PENDING))
            .filter(dsl::next_attempt_at.ne(parked_until));
        let waiting: i64 = pending.count().get_result(connection)?;
        let oldest: Option<DbTimestamp> = pending
            .order(dsl::created_at)
            .select(dsl::created_at)
            .first(connection)
            .optional()?;
        let parked: i64 = dsl::content_jobs
            .filter(dsl::status.eq(PENDING))
            .filter(dsl::next_attempt_at.eq(parked_until))
            .count()
            .get_result(connection)?;
        let dead: i64 = dsl::content_jobs
            .filter(dsl::status.eq(DEAD))
            .count()
            .get_result(connection)?;
        Ok(Depth {
            pending: waiting,
            dead,
            oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
            parked,
        })
    }

    /// A dead job holds ids only (no personal data, nothing a GDPR request or a hold keeps): it
    /// goes after `ingest.content.dead_retention_days`.
    fn delete_dead_before(&self, connection: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<usize> {
        let expired: Vec<DbUuid> = dsl::content_jobs
            .filter(dsl::status.eq(DEAD))
            .filter(dsl::dead_at.lt(DbTimestamp::from(before)))
            .order(dsl::dead_at)
            .limit(limit)
            .select(dsl::record_id)
            .load(connection)?;
        diesel::delete(
            dsl::content_jobs
                .filter(dsl::record_id.eq_any(expired))
                .filter(dsl::status.eq(DEAD)),
        )
        .execute(connection)
    }
}
