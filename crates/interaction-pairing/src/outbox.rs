//! The outbox: every pairing is also queued, in the same transaction, for comm-history-writer,
//! which gives the interaction's records without a customer this one. The worker
//! (`crate::worker`) drains it.

use crate::schema::pairing_outbox::{self, dsl};
use diesel::prelude::*;
use domain::{SupportInteraction, Timestamp};
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::time::Duration;
use uuid::Uuid;

/// Queues the pairing; call inside the pairing's transaction.
pub fn enqueue(connection: &mut AnyConnection, pairing: &SupportInteraction, now: Timestamp) -> QueryResult<()> {
    diesel::insert_into(pairing_outbox::table)
        .values((
            dsl::id.eq(DbUuid(Uuid::now_v7())),
            dsl::interaction_id.eq(DbUuid::from(pairing.interaction_id)),
            dsl::customer_id.eq(DbUuid::from(pairing.customer_id)),
            dsl::attempts.eq(0),
            dsl::next_attempt_at.eq(DbTimestamp::from(now)),
            dsl::created_at.eq(DbTimestamp::from(now)),
        ))
        .execute(connection)
        .map(drop)
}

pub struct Entry {
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub customer_id: Uuid,
    pub attempts: i32,
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
    let rows: Vec<(DbUuid, DbUuid, DbUuid, i32)> = dsl::pairing_outbox
        .filter(dsl::id.eq_any(&ids))
        .select((dsl::id, dsl::interaction_id, dsl::customer_id, dsl::attempts))
        .load(connection)?;
    Ok(rows
        .into_iter()
        .map(|(id, interaction_id, customer_id, attempts)| Entry {
            id: id.0,
            interaction_id: interaction_id.0,
            customer_id: customer_id.0,
            attempts,
        })
        .collect())
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
