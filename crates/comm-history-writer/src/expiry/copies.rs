//! The copies at the communication-history-manager of records erased past their retention
//! (`expired_copies`, ids only): noted by the expiry in the batch's transaction, listed to
//! operators (`GET /expired-copies`), who erase them at the manager and acknowledge each.

use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    expired_copies (delivery_id) {
        delivery_id -> Uuid,
        record_id -> Uuid,
        idempotency_key -> Text,
        external_id -> Nullable<Text>,
        delivered_at -> UtcTimestamp,
        expired_at -> UtcTimestamp,
    }
}

/// A copy at the communication-history-manager of a record erased past its retention: the bank
/// erases it there, then acknowledges it. Ids only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpiredCopy {
    /// The delivery that made it (what acknowledging it names).
    pub delivery_id: Uuid,
    /// The record it was made from, erased here.
    pub record_id: Uuid,
    /// The `Idempotency-Key` it was delivered with: how the manager finds it without its id.
    pub idempotency_key: String,
    /// The manager's own id for it, when its answer named one.
    pub external_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub delivered_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expired_at: Timestamp,
}

/// The oldest `limit` copies to erase at the manager, and how many there are in all.
pub fn expired_copies(connection: &mut AnyConnection, limit: i64) -> QueryResult<(Vec<ExpiredCopy>, i64)> {
    use expired_copies::dsl as copies;
    type Row = (DbUuid, DbUuid, String, Option<String>, DbTimestamp, DbTimestamp);
    let rows: Vec<Row> = copies::expired_copies
        .order((copies::expired_at, copies::delivery_id))
        .limit(limit)
        .select((
            copies::delivery_id,
            copies::record_id,
            copies::idempotency_key,
            copies::external_id,
            copies::delivered_at,
            copies::expired_at,
        ))
        .load(connection)?;
    let total = copies::expired_copies.count().get_result(connection)?;
    let items = rows
        .into_iter()
        .map(|(delivery, record, key, external, delivered, expired)| {
            Ok(ExpiredCopy {
                delivery_id: delivery.0,
                record_id: record.0,
                idempotency_key: key,
                external_id: external,
                delivered_at: delivered.into_domain()?,
                expired_at: expired.into_domain()?,
            })
        })
        .collect::<QueryResult<_>>()?;
    Ok((items, total))
}

/// The copy `delivery_id` made was erased at the manager: it is no longer listed. Whether it was.
pub fn acknowledge(connection: &mut AnyConnection, delivery_id: Uuid) -> QueryResult<bool> {
    use expired_copies::dsl as copies;
    let removed = diesel::delete(copies::expired_copies.filter(copies::delivery_id.eq(DbUuid(delivery_id))))
        .execute(connection)?;
    Ok(removed > 0)
}

/// Notes `copies` of records the expiry erased at `now`, in the caller's transaction.
pub(super) fn note(
    connection: &mut AnyConnection,
    copies: &[crate::store::deliveries::ManagerCopy],
    now: Timestamp,
) -> QueryResult<()> {
    use expired_copies::dsl as c;
    let noted: Vec<_> = copies
        .iter()
        .map(|copy| {
            (
                c::delivery_id.eq(DbUuid(copy.delivery.id)),
                c::record_id.eq(DbUuid(copy.delivery.record_id)),
                c::idempotency_key.eq(copy.delivery.idempotency_key.clone()),
                c::external_id.eq(copy.delivery.external_id.clone()),
                c::delivered_at.eq(DbTimestamp::from(copy.at)),
                c::expired_at.eq(DbTimestamp::from(now)),
            )
        })
        .collect();
    gdpr_participant::insert_new!(connection, expired_copies::table, noted)?;
    Ok(())
}
