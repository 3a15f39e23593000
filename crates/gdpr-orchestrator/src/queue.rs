//! The GDPR requests as an entry each of service-kit's one queue ([`service_kit::queue`]): the
//! runner claims due active requests (`SKIP LOCKED` on PostgreSQL, leased), the worker
//! ([`crate::worker::Worker`], the queue's `Job`) advances each as far as it can go, and the
//! runner settles it by the outcome: done (nothing due now), postponed (a grace window, a poll of
//! Genesys Cloud's work), retried after backoff with jitter (a participant failed or was not
//! ready) while `gdpr.retry_budget` allows, then a dead letter until an operator retries it.
//!
//! A settlement is fenced by the claim's lease (`claimed_until`): the worker's renewals before
//! each participant call move `next_attempt_at`, not the claim, so a worker whose request another
//! claimed after its lease ran out settles nothing (and saves nothing: every save is over the
//! version it read).

use crate::schema::gdpr_requests;
use crate::store::{active_statuses, timestamp};
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::{claim_due_ids, AnyConnection};
use service_kit::queue::{settle_each, Claim, Claimed, Depth, Page, Settle, Settlement, Status, Storage, Summary};
use std::num::NonZeroU32;
use uuid::Uuid;

/// The GDPR requests' queue: its entries are `gdpr_requests` rows; an entry's item is its id.
#[derive(Debug, Clone, Copy, Default)]
pub struct GdprRequests;

fn corrupt(what: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(what.to_string().into())
}

impl Storage for GdprRequests {
    const QUEUE: &'static str = "gdpr_requests";

    type Item = Uuid;

    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<Uuid>>> {
        use gdpr_requests::dsl;
        let (now, limit, lease_until) = (claim.now, claim.limit, claim.lease_until);
        let ids = claim_due_ids(
            connection,
            |c| {
                service_kit::skip_locked!(
                    c,
                    dsl::gdpr_requests
                        .filter(dsl::status.eq_any(active_statuses()))
                        .filter(dsl::dead_at.is_null())
                        .filter(dsl::next_attempt_at.le(DbTimestamp::from(now)))
                        .order(dsl::next_attempt_at)
                        .limit(limit)
                        .select(dsl::id)
                )
            },
            |c, ids| {
                // The claim moves the version on, so whoever held a request before saves nothing
                // more; a run of failures starts its budget at its first claim.
                diesel::update(dsl::gdpr_requests.filter(dsl::id.eq_any(ids)))
                    .set((
                        dsl::next_attempt_at.eq(DbTimestamp::from(lease_until)),
                        dsl::claimed_until.eq(Some(DbTimestamp::from(lease_until))),
                        dsl::attempts.eq(dsl::attempts + 1),
                        dsl::version.eq(dsl::version + 1),
                    ))
                    .execute(c)?;
                diesel::update(
                    dsl::gdpr_requests
                        .filter(dsl::id.eq_any(ids))
                        .filter(dsl::retry_since.is_null()),
                )
                .set(dsl::retry_since.eq(Some(DbTimestamp::from(now))))
                .execute(c)
            },
        )?;
        let rows: Vec<(DbUuid, i32, Option<DbTimestamp>)> = dsl::gdpr_requests
            .filter(dsl::id.eq_any(&ids))
            .select((dsl::id, dsl::attempts, dsl::retry_since))
            .load(connection)?;
        rows.into_iter()
            .map(|(id, attempts, since)| {
                let attempts = u32::try_from(attempts)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .ok_or_else(|| corrupt(format!("gdpr_requests.attempts {attempts} after a claim")))?;
                let since = timestamp(since)?.ok_or_else(|| corrupt("gdpr_requests.retry_since null after a claim"))?;
                Ok(Claimed {
                    id: id.0,
                    attempts,
                    since,
                    lease_until,
                    item: id.0,
                })
            })
            .collect()
    }

    fn settle(&self, connection: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize> {
        use gdpr_requests::dsl;
        settle_each(connection, settlements, |c, settlement| {
            let claimed = || {
                dsl::gdpr_requests
                    .filter(dsl::id.eq(DbUuid(settlement.id)))
                    .filter(dsl::claimed_until.eq(Some(DbTimestamp::from(settlement.lease_until))))
                    .filter(dsl::dead_at.is_null())
            };
            let none = None::<DbTimestamp>;
            match &settlement.settle {
                // Done: nothing is due now (the request waits for a person, or is finished).
                // Postponed: waiting by design (a grace window, Genesys Cloud's work), due at
                // `at`. Either way nothing failed: its run of failures, if any, is over.
                Settle::Done | Settle::Postpone { .. } => {
                    if let Settle::Postpone { at } = &settlement.settle {
                        diesel::update(claimed())
                            .set(dsl::next_attempt_at.eq(DbTimestamp::from(*at)))
                            .execute(c)?;
                    }
                    diesel::update(claimed())
                        .set((
                            dsl::claimed_until.eq(none),
                            dsl::attempts.eq(0),
                            dsl::retry_since.eq(none),
                            dsl::last_error.eq(None::<String>),
                            dsl::version.eq(dsl::version + 1),
                        ))
                        .execute(c)
                }
                Settle::Retry { at, reason } => diesel::update(claimed())
                    .set((
                        dsl::next_attempt_at.eq(DbTimestamp::from(*at)),
                        dsl::claimed_until.eq(none),
                        dsl::last_error.eq(Some(reason.as_str().to_owned())),
                        dsl::version.eq(dsl::version + 1),
                    ))
                    .execute(c),
                Settle::Dead { reason } => diesel::update(claimed())
                    .set((
                        dsl::dead_at.eq(Some(DbTimestamp::from(settlement.settled_at))),
                        dsl::claimed_until.eq(none),
                        dsl::last_error.eq(Some(reason.as_str().to_owned())),
                        dsl::version.eq(dsl::version + 1),
                    ))
                    .execute(c),
            }
        })
    }

    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>> {
        use gdpr_requests::dsl;
        let Page { status, after, limit } = page;
        let mut query = dsl::gdpr_requests
            .select((
                dsl::id,
                dsl::request_type,
                dsl::attempts,
                dsl::received_at,
                dsl::next_attempt_at,
                dsl::last_error,
            ))
            .into_boxed();
        query = match status {
            Status::Dead => query.filter(dsl::dead_at.is_not_null()),
            Status::Pending => query
                .filter(dsl::dead_at.is_null())
                .filter(dsl::status.eq_any(active_statuses())),
            // Never asked (the operator lists pending or dead letters).
            Status::Done => return Ok(Vec::new()),
        };
        let rows: Vec<(DbUuid, String, i32, DbTimestamp, DbTimestamp, Option<String>)> =
            service_kit::oldest_first_after!(query, dsl::received_at, dsl::id, after, limit).load(connection)?;
        rows.into_iter()
            .map(
                |(id, request_type, attempts, received_at, next_attempt_at, last_error)| {
                    let kind = contracts::gdpr::RequestType::parse(&request_type)
                        .ok_or_else(|| corrupt(format!("unknown request type {request_type:?}")))?
                        .as_str();
                    Ok(Summary {
                        id: id.0,
                        kind,
                        status,
                        attempts: u32::try_from(attempts)
                            .map_err(|_| corrupt(format!("gdpr_requests.attempts {attempts}")))?,
                        created_at: received_at.into_domain()?,
                        next_attempt_at: (status == Status::Pending)
                            .then(|| next_attempt_at.into_domain())
                            .transpose()?,
                        last_error,
                    })
                },
            )
            .collect()
    }

    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>> {
        use gdpr_requests::dsl;
        let row: Option<(String, Option<DbTimestamp>)> = dsl::gdpr_requests
            .find(DbUuid(id))
            .select((dsl::status, dsl::dead_at))
            .first(connection)
            .optional()?;
        Ok(row.map(|(status, dead_at)| {
            let active = active_statuses().contains(&status.as_str());
            match (dead_at, active) {
                (Some(_), _) => Status::Dead,
                (None, true) => Status::Pending,
                (None, false) => Status::Done,
            }
        }))
    }

    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
        use gdpr_requests::dsl;
        let mut dead = dsl::gdpr_requests.filter(dsl::dead_at.is_not_null()).into_boxed();
        if let Some(id) = id {
            dead = dead.filter(dsl::id.eq(DbUuid(id)));
        }
        let ids: Vec<DbUuid> = dead.select(dsl::id).load(connection)?;
        let none = None::<DbTimestamp>;
        diesel::update(dsl::gdpr_requests.filter(dsl::id.eq_any(&ids)))
            .set((
                dsl::dead_at.eq(none),
                dsl::next_attempt_at.eq(DbTimestamp::from(now)),
                dsl::attempts.eq(0),
                dsl::retry_since.eq(none),
                dsl::version.eq(dsl::version + 1),
            ))
            .execute(connection)
    }

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth> {
        use gdpr_requests::dsl;
        let pending = || {
            dsl::gdpr_requests
                .filter(dsl::dead_at.is_null())
                .filter(dsl::status.eq_any(active_statuses()))
        };
        let count: i64 = pending().count().get_result(connection)?;
        let oldest: Option<DbTimestamp> = pending()
            .select(dsl::received_at)
            .order(dsl::received_at)
            .first(connection)
            .optional()?;
        let dead: i64 = dsl::gdpr_requests
            .filter(dsl::dead_at.is_not_null())
            .count()
            .get_result(connection)?;
        Ok(Depth {
            pending: count,
            dead,
            oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
            parked: 0,
        })
    }

    /// This queue keeps its dead letters: a dead request is the record of a data subject's request
    /// with a legal due date, never deleted by age (its identifiers go with
    /// `gdpr.identifier_retention_days` once finished). `gdpr.dead_retention_days` is refused at
    /// start, so the runner never asks; were it asked, it is an error, not a silent nothing.
    fn delete_dead_before(&self, _: &mut AnyConnection, _: Timestamp, _: i64) -> QueryResult<usize> {
        Err(diesel::result::Error::QueryBuilderError(
            "gdpr_requests keeps its dead letters: none is deleted by age".into(),
        ))
    }
}
