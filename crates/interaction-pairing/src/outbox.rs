//! The outbox: every pairing, and every removal of one, is also queued in the same transaction
//! for comm-history-writer, which gives the interaction's records this customer (filling in a
//! record without one, or adding the customer's own) or withdraws the customer's records. The
//! worker (`crate::worker`) drains it.

use crate::schema::pairing_outbox::{self, dsl};
use diesel::prelude::*;
use domain::{SupportInteraction, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::queue::{settle_each, Claim, Claimed, Depth, Page, Settle, Settlement, Status, Storage, Summary};
use std::num::NonZeroU32;
use uuid::Uuid;

/// What an entry asks of comm-history-writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Give the interaction's records this customer.
    Assign,
    /// Withdraw this customer's records of the interaction, in the name of who removed the pairing.
    Withdraw { actor: String },
}

impl Action {
    const fn as_str(&self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Withdraw { .. } => "withdraw",
        }
    }

    fn from_row(action: &str, actor: Option<String>) -> QueryResult<Self> {
        match (action, actor) {
            ("assign", None) => Ok(Self::Assign),
            ("withdraw", Some(actor)) => Ok(Self::Withdraw { actor }),
            (other, _) => Err(diesel::result::Error::DeserializationError(
                format!("pairing_outbox: action {other:?} with or without its actor, which cannot be").into(),
            )),
        }
    }
}

fn enqueue(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    action: &Action,
    now: Timestamp,
) -> QueryResult<()> {
    let actor = match action {
        Action::Assign => None,
        Action::Withdraw { actor } => Some(actor.as_str()),
    };
    diesel::insert_into(pairing_outbox::table)
        .values((
            dsl::id.eq(DbUuid(Uuid::now_v7())),
            dsl::interaction_id.eq(DbUuid::from(pairing.interaction_id)),
            dsl::customer_id.eq(DbUuid::from(pairing.customer_id)),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
            dsl::created_at.eq(DbTimestamp::from(now)),
            dsl::action.eq(action.as_str()),
            dsl::actor.eq(actor),
        ))
        .execute(connection)
        .map(drop)
}

/// Queues the pairing's assignment; call inside the pairing's transaction.
pub fn enqueue_assignment(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    now: Timestamp,
) -> QueryResult<()> {
    enqueue(connection, pairing, &Action::Assign, now)
}

/// Queues the withdrawal of a removed pairing's records; call inside the removal's transaction.
pub fn enqueue_withdrawal(
    connection: &mut AnyConnection,
    pairing: &SupportInteraction,
    actor: &str,
    now: Timestamp,
) -> QueryResult<()> {
    // Bounded here, as comm-history-writer's contract takes it (`withdrawnBy`, 1 to 256
    // characters), so the entry never becomes a refusal for it.
    let actor = domain::BoundedText::<1, 256>::fitting(actor).ok_or_else(|| {
        diesel::result::Error::QueryBuilderError("a withdrawal must name who removed the pairing".into())
    })?;
    let action = Action::Withdraw {
        actor: actor.as_str().to_owned(),
    };
    enqueue(connection, pairing, &action, now)
}

/// What a claimed entry carries to comm-history-writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub interaction_id: domain::InteractionId,
    pub customer_id: domain::CustomerId,
    pub action: Action,
}

/// The outbox as a [`service_kit::queue`]: claimed with a lease (`SKIP LOCKED` on PostgreSQL),
/// never an entry a GDPR forget holds (`forgotten_by`) nor a dead letter (`dead_at`). A
/// delivered entry is deleted; a dead letter is kept until an operator retries it or
/// `pairing.dead_retention_days` have passed. Held entries are neither listed nor retried.
#[derive(Debug, Clone, Copy, Default)]
pub struct PairingOutbox;

type ClaimedRow = (
    DbUuid,
    DbUuid,
    DbUuid,
    i32,
    String,
    Option<String>,
    DbTimestamp,
    Option<DbTimestamp>,
);

/// An entry as listed: id, action, attempts, created, next attempt, whether dead, last error.
type SummaryRow = (DbUuid, String, i32, DbTimestamp, DbTimestamp, bool, Option<String>);

fn attempts(value: i32) -> QueryResult<u32> {
    u32::try_from(value).map_err(|_| {
        diesel::result::Error::DeserializationError("pairing_outbox.attempts: negative, which cannot be".into())
    })
}

/// The listing's word for an entry's action.
fn kind(action: &str) -> QueryResult<&'static str> {
    match action {
        "assign" => Ok(Action::Assign.as_str()),
        "withdraw" => Ok("withdraw"),
        other => Err(diesel::result::Error::DeserializationError(
            format!("pairing_outbox: action {other:?}, which cannot be").into(),
        )),
    }
}

impl Storage for PairingOutbox {
    const QUEUE: &'static str = "pairing_outbox";
    type Item = Entry;

    fn claim(&self, connection: &mut AnyConnection, claim: Claim) -> QueryResult<Vec<Claimed<Entry>>> {
        let lease_db = DbTimestamp::from(claim.lease_until);
        let ids = service_kit::database::claim_due_ids(
            connection,
            // A GDPR forget holds its subject's entries back until undone or purged.
            |c| {
                let due = dsl::next_attempt_at.le(DbTimestamp::from(claim.now));
                let free = dsl::forgotten_by.is_null().and(dsl::dead_at.is_null());
                let query = dsl::pairing_outbox.filter(due.and(free)).order(dsl::next_attempt_at);
                service_kit::skip_locked!(c, query.limit(claim.limit).select(dsl::id))
            },
            |c, ids| {
                let leased = (dsl::next_attempt_at.eq(lease_db), dsl::attempts.eq(dsl::attempts + 1));
                diesel::update(dsl::pairing_outbox.filter(dsl::id.eq_any(ids)))
                    .set(leased)
                    .execute(c)
            },
        )?;
        let rows: Vec<ClaimedRow> = dsl::pairing_outbox
            .filter(dsl::id.eq_any(&ids))
            .filter(dsl::next_attempt_at.eq(lease_db))
            .order(dsl::created_at)
            .select((
                dsl::id,
                dsl::interaction_id,
                dsl::customer_id,
                dsl::attempts,
                dsl::action,
                dsl::actor,
                dsl::created_at,
                dsl::retried_at,
            ))
            .load(connection)?;
        rows.into_iter()
            .map(
                |(id, interaction_id, customer_id, tried, action, actor, created, retried)| {
                    let tried = NonZeroU32::new(attempts(tried)?).ok_or_else(|| {
                        diesel::result::Error::DeserializationError(
                            "pairing_outbox: a claim without its attempt".into(),
                        )
                    })?;
                    Ok(Claimed {
                        id: id.0,
                        attempts: tried,
                        since: retried.unwrap_or(created).into_domain()?,
                        lease_until: claim.lease_until,
                        item: Entry {
                            interaction_id: interaction_id.into(),
                            customer_id: customer_id.into(),
                            action: Action::from_row(&action, actor)?,
                        },
                    })
                },
            )
            .collect()
    }

    fn settle(&self, connection: &mut AnyConnection, settlements: &[Settlement]) -> QueryResult<usize> {
        settle_each(connection, settlements, |c, settlement| {
            // Only while the entry is still this claim's: leased until its lease_until.
            let mine = dsl::pairing_outbox
                .filter(dsl::id.eq(DbUuid(settlement.id)))
                .filter(dsl::next_attempt_at.eq(DbTimestamp::from(settlement.lease_until)))
                .filter(dsl::dead_at.is_null());
            let (next, reason, dead_at) = match &settlement.settle {
                Settle::Done => return diesel::delete(mine).execute(c),
                Settle::Retry { at, reason } => (*at, Some(reason.as_str()), None),
                Settle::Dead { reason } => (
                    settlement.lease_until,
                    Some(reason.as_str()),
                    Some(settlement.settled_at),
                ),
                // The attempt given back (the outbox's job never postpones, but a queue may).
                Settle::Postpone { at } => {
                    let given_back = (
                        dsl::next_attempt_at.eq(DbTimestamp::from(*at)),
                        dsl::attempts.eq(dsl::attempts - 1),
                    );
                    return diesel::update(mine).set(given_back).execute(c);
                }
            };
            diesel::update(mine)
                .set((
                    dsl::next_attempt_at.eq(DbTimestamp::from(next)),
                    dsl::dead_at.eq(dead_at.map(DbTimestamp::from)),
                    dsl::last_error.eq(reason),
                ))
                .execute(c)
        })
    }

    fn list(&self, connection: &mut AnyConnection, page: Page) -> QueryResult<Vec<Summary>> {
        let (status, after, limit) = (page.status, page.after, page.limit);
        let mut query = dsl::pairing_outbox.filter(dsl::forgotten_by.is_null()).into_boxed();
        query = match status {
            Status::Dead => query.filter(dsl::dead_at.is_not_null()),
            Status::Pending | Status::Done => query.filter(dsl::dead_at.is_null()),
        };
        let rows: Vec<SummaryRow> = service_kit::oldest_first_after!(query, dsl::created_at, dsl::id, after, limit)
            .select((
                dsl::id,
                dsl::action,
                dsl::attempts,
                dsl::created_at,
                dsl::next_attempt_at,
                dsl::dead_at.is_not_null(),
                dsl::last_error,
            ))
            .load(connection)?;
        rows.into_iter()
            .map(|(id, action, tried, created, next, dead, last_error)| {
                Ok(Summary {
                    id: id.0,
                    kind: kind(&action)?,
                    status: if dead { Status::Dead } else { Status::Pending },
                    attempts: attempts(tried)?,
                    created_at: created.into_domain()?,
                    next_attempt_at: if dead { None } else { Some(next.into_domain()?) },
                    last_error,
                })
            })
            .collect()
    }

    fn status_of(&self, connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Status>> {
        let dead: Option<Option<DbTimestamp>> = dsl::pairing_outbox
            .find(DbUuid(id))
            .filter(dsl::forgotten_by.is_null())
            .select(dsl::dead_at)
            .first(connection)
            .optional()?;
        Ok(dead.map(|dead| if dead.is_some() { Status::Dead } else { Status::Pending }))
    }

    fn retry_dead(&self, connection: &mut AnyConnection, id: Option<Uuid>, now: Timestamp) -> QueryResult<usize> {
        let dead = dsl::dead_at.is_not_null().and(dsl::forgotten_by.is_null());
        let fresh = (
            dsl::dead_at.eq(None::<DbTimestamp>),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
            dsl::retried_at.eq(Some(DbTimestamp::from(now))),
        );
        match id {
            Some(id) => diesel::update(dsl::pairing_outbox.find(DbUuid(id)).filter(dead))
                .set(fresh)
                .execute(connection),
            None => diesel::update(dsl::pairing_outbox.filter(dead))
                .set(fresh)
                .execute(connection),
        }
    }

    fn depth(&self, connection: &mut AnyConnection) -> QueryResult<Depth> {
        let pending: i64 = dsl::pairing_outbox
            .filter(dsl::dead_at.is_null())
            .count()
            .get_result(connection)?;
        let dead: i64 = dsl::pairing_outbox
            .filter(dsl::dead_at.is_not_null())
            .count()
            .get_result(connection)?;
        let oldest: Option<DbTimestamp> = dsl::pairing_outbox
            .filter(dsl::dead_at.is_null())
            .filter(dsl::forgotten_by.is_null())
            .select(diesel::dsl::min(dsl::created_at))
            .first(connection)?;
        Ok(Depth {
            pending,
            dead,
            oldest_pending: oldest.map(DbTimestamp::into_domain).transpose()?,
            parked: 0,
        })
    }

    /// Dead letters past `pairing.dead_retention_days`, for the job to keep those a legal hold
    /// covers, by `(dead_at, id)` (the index `pairing_outbox_dead`).
    fn expired_dead(
        &self,
        connection: &mut AnyConnection,
        before: Timestamp,
        after: Option<(Timestamp, Uuid)>,
        limit: i64,
    ) -> QueryResult<Option<Vec<(Timestamp, Uuid)>>> {
        expired_dead(connection, before, after, limit).map(Some)
    }

    fn delete_dead(&self, connection: &mut AnyConnection, ids: &[Uuid], before: Timestamp) -> QueryResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<DbUuid> = ids.iter().map(|&id| DbUuid(id)).collect();
        diesel::delete(
            dsl::pairing_outbox
                .filter(dsl::id.eq_any(ids))
                .filter(dsl::dead_at.lt(DbTimestamp::from(before)))
                .filter(dsl::forgotten_by.is_null())
                .filter(crate::gdpr::expirable_assignments()),
        )
        .execute(connection)
    }
}

/// Dead letters that died before `before`, none a GDPR request holds, oldest first by
/// `(dead_at, id)` after `after`.
fn expired_dead(
    connection: &mut AnyConnection,
    before: Timestamp,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<(Timestamp, Uuid)>> {
    let dead_at = dsl::dead_at.assume_not_null();
    let mut query = dsl::pairing_outbox
        .filter(dead_at.lt(DbTimestamp::from(before)))
        .filter(dsl::forgotten_by.is_null())
        .filter(crate::gdpr::expirable_assignments())
        .into_boxed();
    if let Some((at, id)) = after {
        let (at, id) = (DbTimestamp::from(at), DbUuid(id));
        query = query.filter(dead_at.gt(at).or(dead_at.eq(at).and(dsl::id.gt(id))));
    }
    let rows: Vec<(DbTimestamp, DbUuid)> = query
        .order((dead_at, dsl::id))
        .select((dead_at, dsl::id))
        .limit(limit)
        .load(connection)?;
    rows.into_iter().map(|(at, id)| Ok((at.into_domain()?, id.0))).collect()
}

/// How many of these entries a worker may be delivering at `now`: claimed (an attempt counted)
/// and the claim's lease, kept in `next_attempt_at`, not over. An entry that failed waits out its
/// backoff in the same column and counts until then too: it cannot be told from a claim, so a
/// GDPR forget waits at most a backoff longer than it must.
pub fn in_workers_hands(connection: &mut AnyConnection, ids: Vec<DbUuid>, now: Timestamp) -> QueryResult<i64> {
    dsl::pairing_outbox
        .filter(dsl::id.eq_any(ids))
        .filter(dsl::dead_at.is_null())
        .filter(dsl::attempts.gt(0))
        .filter(dsl::next_attempt_at.gt(DbTimestamp::from(now)))
        .count()
        .get_result(connection)
}

/// Entries not delivered yet, dead letters included.
pub fn pending(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::pairing_outbox.count().get_result(connection)
}
