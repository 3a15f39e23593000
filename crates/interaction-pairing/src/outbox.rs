//! The outbox: every pairing, and every removal of one, is also queued in the same transaction
//! for comm-history-writer, which gives the interaction's records this customer (filling in a
//! record without one, or adding the customer's own) or withdraws the customer's records. The
//! worker (`crate::worker`) drains it.

use crate::schema::pairing_outbox::{self, dsl};
use diesel::prelude::*;
use domain::{SupportInteraction, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::time::Duration;
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
    let action = Action::Withdraw {
        actor: actor.to_owned(),
    };
    enqueue(connection, pairing, &action, now)
}

pub struct Entry {
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub customer_id: Uuid,
    pub attempts: i32,
    pub action: Action,
}

/// Claims up to `limit` due entries for `lease`.
pub fn claim_due(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Entry>> {
    let now_db = DbTimestamp::from(now);
    let lease_until = DbTimestamp(now.as_offset_date_time() + lease);
    let ids = service_kit::database::claim_due_ids(
        connection,
        |c| {
            // A GDPR forget holds its subject's assignments back until undone or purged.
            let due = || {
                dsl::pairing_outbox
                    .filter(dsl::next_attempt_at.le(now_db).and(dsl::forgotten_by.is_null()))
                    .order(dsl::next_attempt_at)
                    .limit(limit)
                    .select(dsl::id)
            };
            match c {
                AnyConnection::Postgresql(pg) => due().for_update().skip_locked().load(pg),
                AnyConnection::Sqlite(sqlite) => due().load(sqlite),
            }
        },
        |c, ids| {
            diesel::update(dsl::pairing_outbox.filter(dsl::id.eq_any(ids)))
                .set((
                    dsl::next_attempt_at.eq(lease_until),
                    dsl::attempts.eq(dsl::attempts + 1),
                ))
                .execute(c)
        },
    )?;
    let rows: Vec<(DbUuid, DbUuid, DbUuid, i32, String, Option<String>)> = dsl::pairing_outbox
        .filter(dsl::id.eq_any(&ids))
        .order(dsl::created_at)
        .select((
            dsl::id,
            dsl::interaction_id,
            dsl::customer_id,
            dsl::attempts,
            dsl::action,
            dsl::actor,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(|(id, interaction_id, customer_id, attempts, action, actor)| {
            Ok(Entry {
                id: id.0,
                interaction_id: interaction_id.0,
                customer_id: customer_id.0,
                attempts,
                action: Action::from_row(&action, actor)?,
            })
        })
        .collect()
}

/// How many of these entries a worker may be delivering at `now`: claimed (an attempt counted)
/// and the claim's lease, kept in `next_attempt_at`, not over. An entry that failed waits out its
/// backoff in the same column and counts until then too: it cannot be told from a claim, so a
/// GDPR forget waits at most a backoff longer than it must.
pub fn in_workers_hands(connection: &mut AnyConnection, ids: Vec<DbUuid>, now: Timestamp) -> QueryResult<i64> {
    dsl::pairing_outbox
        .filter(dsl::id.eq_any(ids))
        .filter(dsl::attempts.gt(0))
        .filter(dsl::next_attempt_at.gt(DbTimestamp::from(now)))
        .count()
        .get_result(connection)
}

pub fn pending(connection: &mut AnyConnection) -> QueryResult<i64> {
    dsl::pairing_outbox.count().get_result(connection)
}

/// The entry was delivered: it goes.
pub fn remove(connection: &mut AnyConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(dsl::pairing_outbox.find(DbUuid(id)))
        .execute(connection)
        .map(drop)
}

/// The entry was not delivered: due again at `next`, with the reason.
pub fn reschedule(connection: &mut AnyConnection, id: Uuid, next: Timestamp, reason: String) -> QueryResult<()> {
    diesel::update(dsl::pairing_outbox.find(DbUuid(id)))
        .set((
            dsl::next_attempt_at.eq(DbTimestamp::from(next)),
            dsl::last_error.eq(Some(reason)),
        ))
        .execute(connection)
        .map(drop)
}
