//! A RECTIFY's rewritten rows, counted exactly once: every rectify adds what it rewrote here to
//! the request's running total per category, in the transaction that rewrites, and answers the
//! total. A call asked again (its answer lost, a failure answered, work in flight) then answers
//! what the request rewrote here in all, never only what that call did.
//!
//! Every participant's database that rectifies has the table
//! `gdpr_rectified (request_id, category, rewritten)`: ids and counts, no personal data.

use contracts::participant::CategoryCounts;
use diesel::prelude::*;
use service_kit::database::sql_types::DbUuid;
use service_kit::database::AnyConnection;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::Uuid;

    gdpr_rectified (request_id, category) {
        request_id -> Uuid,
        category -> Text,
        rewritten -> BigInt,
    }
}

/// Adds `rewritten` (what this call rewrote, per category) to `request_id`'s totals here; the
/// totals after it.
pub fn add(
    connection: &mut AnyConnection,
    request_id: Uuid,
    rewritten: &CategoryCounts,
) -> QueryResult<CategoryCounts> {
    use diesel::upsert::excluded;
    for (category, &n) in rewritten {
        let n = i64::try_from(n)
            .map_err(|_| diesel::result::Error::QueryBuilderError(format!("{n} rewritten rows: too many").into()))?;
        let row = (
            gdpr_rectified::request_id.eq(DbUuid(request_id)),
            gdpr_rectified::category.eq(category.as_str()),
            gdpr_rectified::rewritten.eq(n),
        );
        service_kit::per_backend!(&mut *connection, |c| diesel::insert_into(gdpr_rectified::table)
            .values(row)
            .on_conflict((gdpr_rectified::request_id, gdpr_rectified::category))
            .do_update()
            .set(gdpr_rectified::rewritten.eq(gdpr_rectified::rewritten + excluded(gdpr_rectified::rewritten)))
            .execute(c))?;
    }
    totals(connection, request_id)
}

/// What `request_id`'s rectifies rewrote here in all, per category.
pub fn totals(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<CategoryCounts> {
    let rows: Vec<(String, i64)> = gdpr_rectified::table
        .filter(gdpr_rectified::request_id.eq(DbUuid(request_id)))
        .select((gdpr_rectified::category, gdpr_rectified::rewritten))
        .load(connection)?;
    rows.into_iter()
        .map(|(category, n)| {
            u64::try_from(n)
                .map(|n| (category, n))
                .map_err(|_| diesel::result::Error::DeserializationError(format!("{n} rewritten rows").into()))
        })
        .collect()
}
