//! How each request's requester was verified ([`RequesterVerification`]), recorded once; its
//! evidence reference is erased with the request's identifiers.

use super::model::{corrupt, timestamp};
use crate::schema::gdpr_request_verifications as table;
use contracts::gdpr::{RequesterVerification, VerificationMethod};
use diesel::prelude::*;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = table)]
struct VerificationRow {
    request_id: DbUuid,
    method: String,
    evidence_reference: Option<String>,
    verified_by: String,
    verified_by_name: Option<String>,
    verified_via: String,
    verified_at: DbTimestamp,
}

impl VerificationRow {
    fn into_verification(self) -> QueryResult<(Uuid, RequesterVerification)> {
        let method = VerificationMethod::parse(&self.method)
            .ok_or_else(|| corrupt(format!("unknown verification method {:?}", self.method)))?;
        let verified_at = timestamp(Some(self.verified_at))?.ok_or_else(|| corrupt("verified_at"))?;
        Ok((
            self.request_id.0,
            RequesterVerification {
                method,
                evidence_reference: self.evidence_reference,
                verified_by: self.verified_by,
                verified_by_name: self.verified_by_name,
                verified_via: self.verified_via,
                verified_at,
            },
        ))
    }
}

/// Records `verification` of `request_id`; `false` when one was recorded already (nothing
/// changes: it is recorded once).
pub fn insert(
    connection: &mut AnyConnection,
    request_id: Uuid,
    verification: &RequesterVerification,
) -> QueryResult<bool> {
    if find(connection, request_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(table::table)
        .values(VerificationRow {
            request_id: DbUuid(request_id),
            method: verification.method.as_str().to_owned(),
            evidence_reference: verification.evidence_reference.clone(),
            verified_by: verification.verified_by.clone(),
            verified_by_name: verification.verified_by_name.clone(),
            verified_via: verification.verified_via.clone(),
            verified_at: verification.verified_at.into(),
        })
        .execute(connection)?;
    Ok(true)
}

/// How `request_id`'s requester was verified, if recorded.
pub fn find(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Option<RequesterVerification>> {
    table::table
        .find(DbUuid(request_id))
        .select(VerificationRow::as_select())
        .first(connection)
        .optional()?
        .map(|row| row.into_verification().map(|(_, verification)| verification))
        .transpose()
}

/// The verifications of `request_ids` (a page of a listing), one statement.
pub fn find_many(
    connection: &mut AnyConnection,
    request_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, RequesterVerification>> {
    let ids: Vec<DbUuid> = request_ids.iter().copied().map(DbUuid).collect();
    table::table
        .filter(table::request_id.eq_any(ids))
        .select(VerificationRow::as_select())
        .load(connection)?
        .into_iter()
        .map(VerificationRow::into_verification)
        .collect()
}

/// Erases the evidence reference of `request_id`'s verification (it points to the subject's
/// records); the method, who and when stay.
pub fn erase_evidence(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<()> {
    diesel::update(table::table.find(DbUuid(request_id)))
        .set(table::evidence_reference.eq(None::<String>))
        .execute(connection)
        .map(drop)
}
