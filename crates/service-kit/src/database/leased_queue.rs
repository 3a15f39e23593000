//! The claim step of the database-backed work queues (result-ingest's inbox, the pairing outbox).

use super::sql_types::DbUuid;
use super::{write_transaction, AnyConnection};
use diesel::QueryResult;

/// Claims due rows of a leased work queue and returns their ids: `due_ids` finds up to a batch of
/// them, oldest first, and `lease` moves their lease to its end and counts the attempt, in one
/// short transaction. The work runs outside it; a worker that dies lets its rows fall due again
/// when the lease ends.
///
/// `due_ids` must lock what it finds on PostgreSQL (`.for_update().skip_locked()`), so concurrent
/// replicas never claim the same row; SQLite's transaction here is immediate (one writer at a
/// time), so it needs no lock:
///
/// ```ignore
/// let due = || table.filter(due_filter).order(next_attempt_at).limit(limit).select(id);
/// match connection {
///     AnyConnection::Postgresql(pg) => due().for_update().skip_locked().load(pg),
///     AnyConnection::Sqlite(sqlite) => due().load(sqlite),
/// }
/// ```
pub fn claim_due_ids(
    connection: &mut AnyConnection,
    due_ids: impl FnOnce(&mut AnyConnection) -> QueryResult<Vec<DbUuid>>,
    lease: impl FnOnce(&mut AnyConnection, &[DbUuid]) -> QueryResult<usize>,
) -> QueryResult<Vec<DbUuid>> {
    write_transaction(connection, |c| {
        let ids = due_ids(c)?;
        if !ids.is_empty() {
            lease(c, &ids)?;
        }
        Ok(ids)
    })
}
