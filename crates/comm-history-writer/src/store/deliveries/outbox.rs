//! The delivery outbox's table as one of [`service_kit::queue`]'s queues: claims in each
//! record's order and past the GDPR holds, settlements fenced by the lease, the operators' list,
//! retries and retention.

use super::{corrupt, idempotency_key, DeliveryKind, DeliveryStatus, ToDeliver};
use crate::schema::{communication_records, delivery_outbox};
use diesel::prelude::*;
use domain::Timestamp;
use gdpr_participant::holds::{Filter, HeldTable};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::oldest_first_after;
use service_kit::queue::{settle_each, Claim, Claimed, Depth, Page, Settle, Settlement, Status, Storage, Summary};
use std::collections::HashMap;
use std::num::NonZeroU32;
use uuid::Uuid;

/// The delivery outbox as a [`service_kit::queue`]. An entry waits while an earlier entry of its
/// record is not delivered (a create before its updates), and while a GDPR forget holds its
/// record (but for the update its purge queued to blank the body at the manager); either is
/// looked at again after the lease. A delivered entry is kept (a GDPR request
/// reports what reached the manager); a dead letter waits for an operator.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryOutbox;

type ListedRow = (DbUuid, String, String, i32, DbTimestamp, DbTimestamp, Option<String>);

fn attempts(value: i32) -> QueryResult<u32> {
    u32::try_from(value).map_err(|_| corrupt("delivery_outbox.attempts below zero".to_owned()))
}

impl Storage for DeliveryOutbox {
    const QUEUE: &'static str = "delivery_outbox";
    type Item = ToDeliver;

    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<ToDeliver>>> {
        use delivery_outbox::dsl;
        let (now_db, limit, lease_until) = (DbTimestamp::from(claim.now), claim.limit, claim.lease_until);
        let lease_db = DbTimestamp::from(lease_until);
        type Candidate = (
            DbUuid,
            DbUuid,
            String,
            i32,
            bool,
            DbTimestamp,
            Option<DbTimestamp>,
            bool,
        );
        service_kit::database::write_transaction(connection, |c| {
            let due = || {
                dsl::delivery_outbox
                    .filter(dsl::status.eq(DeliveryStatus::Pending.as_str()))
                    .filter(dsl::next_attempt_at.le(now_db))
                    .order(dsl::next_attempt_at)
                    .limit(limit)
                    .select((
                        dsl::id,
                        dsl::record_id,
                        dsl::kind,
                        dsl::attempts,
                        dsl::unanswered,
                        dsl::created_at,
                        dsl::retried_at,
                        dsl::blanks_body,
                    ))
            };
            let candidates: Vec<Candidate> = service_kit::skip_locked!(c, due())?;
            if candidates.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<DbUuid> = candidates.iter().map(|candidate| candidate.0).collect();
            diesel::update(dsl::delivery_outbox.filter(dsl::id.eq_any(&ids)))
                .set(dsl::next_attempt_at.eq(lease_db))
                .execute(c)?;
            let records: Vec<DbUuid> = candidates.iter().map(|candidate| candidate.1).collect();
            let held = records_where(c, &records, Box::new(communication_records::forgotten_by.is_not_null()))?;
            // Every entry of these records, oldest first: which comes first, and what the create left.
            let siblings: Vec<(DbUuid, DbUuid, String, String, Option<String>)> = dsl::delivery_outbox
                .filter(dsl::record_id.eq_any(&records))
                .order(dsl::id)
                .select((dsl::id, dsl::record_id, dsl::kind, dsl::status, dsl::external_id))
                .load(c)?;
            let mut first_undelivered: HashMap<DbUuid, DbUuid> = HashMap::new();
            let mut creates: HashMap<DbUuid, (Uuid, Option<String>)> = HashMap::new();
            let mut created: std::collections::HashSet<DbUuid> = std::collections::HashSet::new();
            for (id, record, kind, status, external_id) in siblings {
                let delivered = status == DeliveryStatus::Delivered.as_str();
                if !delivered {
                    first_undelivered.entry(record).or_insert(id);
                }
                if kind == DeliveryKind::Create.as_str() {
                    creates.entry(record).or_insert((id.0, external_id));
                    if delivered {
                        created.insert(record);
                    }
                }
            }
            let mut claimed = Vec::new();
            for (id, record, kind, tried, unanswered, created_at, retried, blanks_body) in candidates {
                // A held record's entries wait, but the update its purge queued to blank the
                // body at the manager (its create there delivered; earlier updates, held, never go).
                let goes = if held.contains(&record) {
                    blanks_body && created.contains(&record)
                } else {
                    first_undelivered.get(&record) == Some(&id)
                };
                if !goes {
                    continue;
                }
                let create = creates.get(&record);
                let tried = NonZeroU32::new(attempts(tried)? + 1)
                    .ok_or_else(|| corrupt("delivery_outbox.attempts at its maximum".to_owned()))?;
                claimed.push(Claimed {
                    id: id.0,
                    attempts: tried,
                    since: retried.unwrap_or(created_at).into_domain()?,
                    lease_until,
                    item: ToDeliver {
                        record_id: record,
                        kind: DeliveryKind::parse(&kind)?,
                        resend: unanswered,
                        external_id: create.and_then(|(_, external)| external.clone()),
                        create_key: create.map(|(create_id, _)| idempotency_key(*create_id)),
                    },
                });
            }
            let taken: Vec<DbUuid> = claimed.iter().map(|entry| DbUuid(entry.id)).collect();
            if !taken.is_empty() {
                diesel::update(dsl::delivery_outbox.filter(dsl::id.eq_any(&taken)))
                    .set(dsl::attempts.eq(dsl::attempts + 1))
                    .execute(c)?;
            }
            Ok(claimed)
        })
    }

    fn settle(&self, connection: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize> {
        use delivery_outbox::dsl;
        settle_each(connection, settlements, |c, settlement| {
            // Only while the entry is still this claim's: pending, leased until its lease_until.
            let mine = dsl::delivery_outbox
                .filter(dsl::id.eq(DbUuid(settlement.id)))
                .filter(dsl::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(dsl::next_attempt_at.eq(DbTimestamp::from(settlement.lease_until)));
            let not_sending = dsl::sending_until.eq(None::<DbTimestamp>);
            match &settlement.settle {
                Settle::Done => {
                    let delivered = (
                        dsl::status.eq(DeliveryStatus::Delivered.as_str()),
                        dsl::delivered_at.eq(Some(DbTimestamp::from(settlement.settled_at))),
                        dsl::last_error.eq(None::<String>),
                        dsl::unanswered.eq(false),
                    );
                    diesel::update(mine).set((delivered, not_sending)).execute(c)
                }
                Settle::Retry { at, reason } => {
                    let again = (
                        dsl::next_attempt_at.eq(DbTimestamp::from(*at)),
                        dsl::last_error.eq(Some(reason.as_str())),
                    );
                    diesel::update(mine).set((again, not_sending)).execute(c)
                }
                Settle::Dead { reason } => {
                    let dead = (
                        dsl::status.eq(DeliveryStatus::Dead.as_str()),
                        dsl::dead_at.eq(Some(DbTimestamp::from(settlement.settled_at))),
                        dsl::last_error.eq(Some(reason.as_str())),
                    );
                    diesel::update(mine).set((dead, not_sending)).execute(c)
                }
                // Held by a GDPR forget: nothing was sent, the attempt is given back.
                Settle::Postpone { at } => diesel::update(mine)
                    .set((
                        dsl::next_attempt_at.eq(DbTimestamp::from(*at)),
                        dsl::attempts.eq(dsl::attempts - 1),
                    ))
                    .execute(c),
            }
        })
    }

    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>> {
        let (status, after, limit) = (page.status, page.after, page.limit);
        use delivery_outbox::dsl;
        let wanted = match status {
            Status::Pending => DeliveryStatus::Pending,
            Status::Dead => DeliveryStatus::Dead,
            Status::Done => DeliveryStatus::Delivered,
        };
        let query = dsl::delivery_outbox
            .filter(dsl::status.eq(wanted.as_str()))
            .into_boxed();
        let rows: Vec<ListedRow> = oldest_first_after!(query, dsl::created_at, dsl::id, after, limit)
            .select((
                dsl::id,
                dsl::kind,
                dsl::status,
                dsl::attempts,
                dsl::created_at,
                dsl::next_attempt_at,
                dsl::last_error,
            ))
            .load(connection)?;
        rows.into_iter()
            .map(|(id, kind, status, tried, created, next, last_error)| {
                let status = queue_status(DeliveryStatus::parse(&status)?);
                Ok(Summary {
                    id: id.0,
                    kind: DeliveryKind::parse(&kind)?.as_str(),
                    status,
                    attempts: attempts(tried)?,
                    created_at: created.into_domain()?,
                    next_attempt_at: match status {
                        Status::Pending => Some(next.into_domain()?),
                        Status::Dead | Status::Done => None,
                    },
                    last_error,
                })
            })
            .collect()
    }

    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>> {
        use delivery_outbox::dsl;
        let status: Option<String> = dsl::delivery_outbox
            .find(DbUuid(id))
            .select(dsl::status)
            .first(connection)
            .optional()?;
        status
            .map(|status| DeliveryStatus::parse(&status).map(queue_status))
            .transpose()
    }

    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
        use delivery_outbox::dsl;
        let dead = dsl::status.eq(DeliveryStatus::Dead.as_str());
        let fresh = (
            dsl::status.eq(DeliveryStatus::Pending.as_str()),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
            dsl::retried_at.eq(Some(DbTimestamp::from(now))),
            dsl::dead_at.eq(None::<DbTimestamp>),
        );
        match id {
            Some(id) => diesel::update(dsl::delivery_outbox.find(DbUuid(id)).filter(dead))
                .set(fresh)
                .execute(connection),
            None => diesel::update(dsl::delivery_outbox.filter(dead))
                .set(fresh)
                .execute(connection),
        }
    }

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth> {
        use delivery_outbox::dsl;
        let pending = dsl::delivery_outbox.filter(dsl::status.eq(DeliveryStatus::Pending.as_str()));
        let waiting: i64 = pending.count().get_result(connection)?;
        let oldest: Option<DbTimestamp> = pending
            .order(dsl::next_attempt_at)
            .select(dsl::created_at)
            .first(connection)
            .optional()?;
        let dead: i64 = dsl::delivery_outbox
            .filter(dsl::status.eq(DeliveryStatus::Dead.as_str()))
            .count()
            .get_result(connection)?;
        Ok(Depth {
            pending: waiting,
            dead,
            oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
            parked: 0,
        })
    }

    /// A dead letter whose record a GDPR request holds (whole or its agent: a FORGET in grace, a
    /// RESTRICT, what a purge kept for a legal hold or a rule) is the request's: the purge that
    /// erases the record deletes it, an undo or a lift gives it back as it was; retention leaves it.
    fn delete_dead_before(&self, connection: &mut AnyConnection, before: Timestamp, limit: i64) -> QueryResult<usize> {
        use delivery_outbox::dsl;
        service_kit::database::write_transaction(connection, |c| {
            let expired: Vec<(DbUuid, DbUuid)> = dsl::delivery_outbox
                .filter(dsl::status.eq(DeliveryStatus::Dead.as_str()))
                .filter(dsl::dead_at.lt(DbTimestamp::from(before)))
                .order(dsl::dead_at)
                .limit(limit)
                .select((dsl::id, dsl::record_id))
                .load(c)?;
            let records: Vec<DbUuid> = expired.iter().map(|(_, record)| *record).collect();
            // A dead letter of a record a request holds, whole or its agent, is the request's.
            let held = records_where(
                c,
                &records,
                Box::new(diesel::dsl::not(crate::gdpr::Records::expirable())),
            )?;
            let deletable: Vec<DbUuid> = expired
                .into_iter()
                .filter(|(_, record)| !held.contains(record))
                .map(|(id, _)| id)
                .collect();
            diesel::delete(dsl::delivery_outbox.filter(dsl::id.eq_any(deletable))).execute(c)
        })
    }
}

/// Which of these records `filter` finds (those a GDPR forget holds: `forgotten_by` set; those a
/// request holds, whole or its agent, or noted kept: not [`HeldTable::expirable`]).
fn records_where(
    connection: &mut AnyConnection,
    records: &[DbUuid],
    filter: Filter<communication_records::table>,
) -> QueryResult<std::collections::HashSet<DbUuid>> {
    Ok(communication_records::table
        .filter(communication_records::id.eq_any(records))
        .filter(filter)
        .select(communication_records::id)
        .load(connection)?
        .into_iter()
        .collect())
}

const fn queue_status(status: DeliveryStatus) -> Status {
    match status {
        DeliveryStatus::Pending => Status::Pending,
        DeliveryStatus::Dead => Status::Dead,
        DeliveryStatus::Delivered => Status::Done,
    }
}
