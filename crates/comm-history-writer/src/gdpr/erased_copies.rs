//! The copies at the communication-history-manager of the records a FORGET's purge erased, noted
//! in the purge's transaction (their deliveries go with the records), so that every purge of the
//! request lists them as `toEraseElsewhere`: a repeated purge (its answer lost) answers the same,
//! and a purge after a legal hold ended adds the copies of the records it erases then. A record a
//! purge keeps (a hold, a statutory rule) has its copies listed only once a purge erases it: the
//! bank must not erase at the manager what it must keep. Ids only; the notes go after
//! `records.idempotency_retention_days`, with the idempotency keys they name.

use super::MANAGER;
use crate::store::deliveries::ManagerCopy;
use contracts::participant::ExternalCopy;
use diesel::prelude::*;
use domain::Timestamp;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use uuid::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use service_kit::database::sql_types::{UtcTimestamp, Uuid};

    gdpr_erased_copies (request_id, delivery_id) {
        request_id -> Uuid,
        delivery_id -> Uuid,
        record_id -> Uuid,
        idempotency_key -> Text,
        external_id -> Nullable<Text>,
        delivered_at -> UtcTimestamp,
        noted_at -> UtcTimestamp,
    }
}

/// `request_id`'s purge erases the records of `copies` now: note their copies (again: nothing
/// changes).
pub(super) fn note(
    connection: &mut AnyConnection,
    request_id: Uuid,
    copies: &[ManagerCopy],
    now: Timestamp,
) -> QueryResult<()> {
    use gdpr_erased_copies::dsl;
    let rows: Vec<_> = copies
        .iter()
        .map(|copy| {
            (
                dsl::request_id.eq(DbUuid(request_id)),
                dsl::delivery_id.eq(DbUuid(copy.delivery.id)),
                dsl::record_id.eq(DbUuid(copy.delivery.record_id)),
                dsl::idempotency_key.eq(copy.delivery.idempotency_key.clone()),
                dsl::external_id.eq(copy.delivery.external_id.clone()),
                dsl::delivered_at.eq(DbTimestamp::from(copy.at)),
                dsl::noted_at.eq(DbTimestamp::from(now)),
            )
        })
        .collect();
    gdpr_participant::insert_new!(connection, dsl::gdpr_erased_copies, rows)?;
    Ok(())
}

/// Every copy `request_id`'s purges erased the record of, oldest delivery first.
pub(super) fn of_request(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<ExternalCopy>> {
    use gdpr_erased_copies::dsl;
    type Row = (DbUuid, String, Option<String>, DbTimestamp);
    let rows: Vec<Row> = dsl::gdpr_erased_copies
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order((dsl::delivered_at, dsl::delivery_id))
        .select((
            dsl::record_id,
            dsl::idempotency_key,
            dsl::external_id,
            dsl::delivered_at,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(|(record, idempotency_key, external_id, at)| {
            Ok(ExternalCopy {
                system: MANAGER.to_owned(),
                record_id: record.0,
                idempotency_key,
                external_id,
                delivered_at: at.into_domain()?,
            })
        })
        .collect()
}

/// `copy` as a report names it.
pub(super) fn external(copy: ManagerCopy) -> ExternalCopy {
    ExternalCopy {
        system: MANAGER.to_owned(),
        record_id: copy.delivery.record_id,
        idempotency_key: copy.delivery.idempotency_key,
        external_id: copy.delivery.external_id,
        delivered_at: copy.at,
    }
}

/// Removes the notes made before `before` (`records.idempotency_retention_days`); answers how
/// many went.
pub fn remove_noted_before(connection: &mut AnyConnection, before: Timestamp) -> QueryResult<usize> {
    use gdpr_erased_copies::dsl;
    diesel::delete(dsl::gdpr_erased_copies.filter(dsl::noted_at.lt(DbTimestamp::from(before)))).execute(connection)
}
