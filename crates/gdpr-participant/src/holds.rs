//! GDPR holds: which FORGET requests hold which rows. Two FORGETs can cover the same row (one by
//! phone number, one by customer id); a row is hidden while any hold is on it, undoing one request
//! lifts only its own holds, and purging deletes the rows a request holds whoever else holds them.
//!
//! Every participant's database has the table `gdpr_holds (request_id, kind, row_id)`; `kind`
//! names what is held (a participant's table, or an agent's name on a row). Each participant keeps
//! a flag on its own rows (`forgotten_by`: one of the requests holding it, or null) in step with
//! the holds, so read paths and indexes stay as they are.

use diesel::prelude::*;
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::collections::HashMap;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_holds (request_id, kind, row_id) {
        request_id -> Uuid,
        kind -> Text,
        row_id -> Uuid,
    }
}

/// Rows are held and looked up this many at a statement (bound parameters stay far below every
/// backend's limit).
const CHUNK: usize = 500;

/// `request_id` holds `rows` of `kind` (again: nothing changes).
pub fn hold(connection: &mut AnyConnection, request_id: Uuid, kind: &str, rows: &[Uuid]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|&row| {
                (
                    gdpr_holds::request_id.eq(DbUuid(request_id)),
                    gdpr_holds::kind.eq(kind),
                    gdpr_holds::row_id.eq(DbUuid(row)),
                )
            })
            .collect();
        per_backend!(connection, |c| diesel::insert_into(gdpr_holds::table)
            .values(&values)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// The rows of `kind` that `request_id` holds (rows deleted since may still be listed).
pub fn held_rows(connection: &mut AnyConnection, request_id: Uuid, kind: &str) -> QueryResult<Vec<Uuid>> {
    Ok(gdpr_holds::table
        .filter(gdpr_holds::request_id.eq(DbUuid(request_id)))
        .filter(gdpr_holds::kind.eq(kind))
        .select(gdpr_holds::row_id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// Lifts `request_id`'s holds on `kind`; returns, for each row it held, the request still
/// holding it (`None`: the row is free again).
pub fn release(connection: &mut AnyConnection, request_id: Uuid, kind: &str) -> QueryResult<Vec<(Uuid, Option<Uuid>)>> {
    let rows = held_rows(connection, request_id, kind)?;
    diesel::delete(
        gdpr_holds::table
            .filter(gdpr_holds::request_id.eq(DbUuid(request_id)))
            .filter(gdpr_holds::kind.eq(kind)),
    )
    .execute(connection)?;
    let still = holders(connection, kind, &rows)?;
    Ok(rows.into_iter().map(|row| (row, still.get(&row).copied())).collect())
}

/// For each of `rows` that any request holds as `kind`, one of those requests.
pub fn holders(connection: &mut AnyConnection, kind: &str, rows: &[Uuid]) -> QueryResult<HashMap<Uuid, Uuid>> {
    let mut found = HashMap::new();
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<DbUuid> = chunk.iter().map(|&row| DbUuid(row)).collect();
        let pairs: Vec<(DbUuid, DbUuid)> = gdpr_holds::table
            .filter(gdpr_holds::kind.eq(kind))
            .filter(gdpr_holds::row_id.eq_any(ids))
            .select((gdpr_holds::row_id, gdpr_holds::request_id))
            .load(connection)?;
        for (row, request) in pairs {
            found.entry(row.0).or_insert(request.0);
        }
    }
    Ok(found)
}

/// Drops every hold (of any request) on `rows` of `kind`: the rows were deleted.
pub fn drop_rows(connection: &mut AnyConnection, kind: &str, rows: &[Uuid]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<DbUuid> = chunk.iter().map(|&row| DbUuid(row)).collect();
        diesel::delete(
            gdpr_holds::table
                .filter(gdpr_holds::kind.eq(kind))
                .filter(gdpr_holds::row_id.eq_any(ids)),
        )
        .execute(connection)?;
    }
    Ok(())
}

/// Runs `statement` on `rows` a chunk at a time; returns the sum of what each run returned (rows
/// changed, or counted).
pub fn chunked(rows: &[Uuid], mut statement: impl FnMut(Vec<DbUuid>) -> QueryResult<i64>) -> QueryResult<i64> {
    let mut total = 0;
    for chunk in rows.chunks(CHUNK) {
        total += statement(chunk.iter().map(|&row| DbUuid(row)).collect())?;
    }
    Ok(total)
}

/// `rows changed` as a count, for [`chunked`].
pub fn changed(rows: usize) -> i64 {
    i64::try_from(rows).unwrap_or(i64::MAX)
}

/// Groups rows by the request that still holds them (`None`: free), so each group's flag is set
/// in one statement.
pub fn by_holder(released: Vec<(Uuid, Option<Uuid>)>) -> HashMap<Option<Uuid>, Vec<Uuid>> {
    let mut groups: HashMap<Option<Uuid>, Vec<Uuid>> = HashMap::new();
    for (row, holder) in released {
        groups.entry(holder).or_default().push(row);
    }
    groups
}
