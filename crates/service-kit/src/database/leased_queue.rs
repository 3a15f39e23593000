//! The claim step of the database-backed work queues (result-ingest's inbox, the pairing outbox).

/// Claims up to `limit` due rows of a leased work queue (a table with a `Uuid` id, a
/// `UtcTimestamp` "next attempt at" and an integer attempt count) and returns their ids.
///
/// Claiming moves `next_attempt_at` to `lease_until` and counts the attempt, in one short
/// transaction: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent replicas never claim
/// the same row; on SQLite in an immediate transaction (one writer at a time anyway). The work runs
/// outside the transaction; a worker that dies lets its rows fall due again when the lease ends.
///
/// `claim_due_ids!(connection, table, id, next_attempt_at, attempts, due_filter, limit, lease_until)`
///
/// A busy queue whose claim order is indexed can keep the lease in a column of its own, in no
/// index, so that a claim is a heap-only update on PostgreSQL (result-ingest's inbox):
/// `claim_due_ids!(connection, table, id, order_by next_attempt_at, attempts, due_filter, limit,
/// lease lease_column => lease_until)`; its `due_filter` must then also skip rows still leased.
#[macro_export]
macro_rules! claim_due_ids {
    ($connection:expr, $table:expr, $id:expr, order_by $next_attempt_at:expr, $attempts:expr, $due:expr, $limit:expr, lease $lease_column:expr => $lease_until:expr) => {{
        use $crate::diesel::prelude::*;
        match $connection {
            $crate::database::AnyConnection::Postgresql(pg) => pg.transaction(|c| {
                let ids: Vec<$crate::database::sql_types::DbUuid> = $table
                    .filter($due)
                    .order($next_attempt_at)
                    .limit($limit)
                    .select($id)
                    .for_update()
                    .skip_locked()
                    .load(c)?;
                $crate::diesel::update($table.filter($id.eq_any(&ids)))
                    .set(($lease_column.eq($lease_until), $attempts.eq($attempts + 1)))
                    .execute(c)?;
                Ok::<_, $crate::diesel::result::Error>(ids)
            }),
            $crate::database::AnyConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|c| {
                let ids: Vec<$crate::database::sql_types::DbUuid> = $table
                    .filter($due)
                    .order($next_attempt_at)
                    .limit($limit)
                    .select($id)
                    .load(c)?;
                $crate::diesel::update($table.filter($id.eq_any(&ids)))
                    .set(($lease_column.eq($lease_until), $attempts.eq($attempts + 1)))
                    .execute(c)?;
                Ok::<_, $crate::diesel::result::Error>(ids)
            }),
        }
    }};
    ($connection:expr, $table:expr, $id:expr, $next_attempt_at:expr, $attempts:expr, $due:expr, $limit:expr, $lease_until:expr) => {
        $crate::claim_due_ids!(
            $connection, $table, $id, order_by $next_attempt_at, $attempts, $due, $limit,
            lease $next_attempt_at => $lease_until
        )
    };
}
