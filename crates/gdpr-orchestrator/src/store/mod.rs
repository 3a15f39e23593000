//! Requests and their steps, as stored: the typed values and their rows (`model`), and the
//! queries that read them and write them back only over the version that was read.

pub mod legal_holds;
mod model;
pub mod verifications;

pub use model::*;

use crate::schema::{gdpr_requests, gdpr_steps};
use contracts::gdpr::{RequestStatus, RequestType};
use contracts::participant::{CategoryCounts, ParticipantAction};
use diesel::prelude::*;
use domain::gdpr::DataSubject;
use domain::Timestamp;
use serde::Serialize;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use uuid::Uuid;

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request changed since it was read (another worker, or a route): read it again.
    #[error("the request changed meanwhile")]
    Stale,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub fn insert_request(connection: &mut AnyConnection, request: &Request) -> QueryResult<()> {
    diesel::insert_into(gdpr_requests::table)
        .values(request.to_row()?)
        .execute(connection)
        .map(drop)
}

pub fn find_request(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Request>> {
    gdpr_requests::table
        .find(DbUuid(id))
        .select(RequestRow::as_select())
        .first(connection)
        .optional()?
        .map(Request::try_from)
        .transpose()
}

/// As [`find_request`], holding the row until the transaction ends (PostgreSQL `FOR UPDATE`;
/// SQLite's write transaction holds the whole database already).
pub fn lock_request(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<Request>> {
    let row: Option<RequestRow> = match connection {
        AnyConnection::Postgresql(pg) => gdpr_requests::table
            .find(DbUuid(id))
            .select(RequestRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        AnyConnection::Sqlite(sqlite) => gdpr_requests::table
            .find(DbUuid(id))
            .select(RequestRow::as_select())
            .first(sqlite)
            .optional()?,
    };
    row.map(Request::try_from).transpose()
}

/// Saves every field of `request` over the version it was read at, and counts the version on.
/// Another writer in between makes this [`StoreError::Stale`]: nothing is overwritten.
pub fn save_request(connection: &mut AnyConnection, request: &mut Request) -> StoreResult<()> {
    use gdpr_requests::dsl;
    let row = request.to_row()?;
    let updated = diesel::update(dsl::gdpr_requests.find(row.id).filter(dsl::version.eq(row.version)))
        .set((
            dsl::status.eq(&row.status),
            dsl::reference.eq(&row.reference),
            dsl::subject.eq(&row.subject),
            dsl::subject_fingerprint.eq(&row.subject_fingerprint),
            dsl::rectification.eq(&row.rectification),
            dsl::due_at.eq(row.due_at),
            dsl::extension_months.eq(row.extension_months),
            dsl::extension_reason.eq(&row.extension_reason),
            dsl::confirmed_at.eq(row.confirmed_at),
            dsl::confirmed_by.eq(&row.confirmed_by),
            dsl::confirmed_via.eq(&row.confirmed_via),
            dsl::purge_after.eq(row.purge_after),
            dsl::completed_at.eq(row.completed_at),
            dsl::identifiers_erased_at.eq(row.identifiers_erased_at),
            dsl::status_reason.eq(&row.status_reason),
            dsl::next_attempt_at.eq(row.next_attempt_at),
            dsl::updated_at.eq(row.updated_at),
            dsl::version.eq(row.version + 1),
        ))
        .execute(connection)?;
    if updated == 0 {
        return Err(StoreError::Stale);
    }
    request.version += 1;
    Ok(())
}

/// Moves the worker's lease on `request` to `until` (over the version it holds).
pub fn renew_lease(connection: &mut AnyConnection, request: &mut Request, until: Timestamp) -> StoreResult<()> {
    use gdpr_requests::dsl;
    let updated = diesel::update(
        dsl::gdpr_requests
            .find(DbUuid(request.id))
            .filter(dsl::version.eq(request.version)),
    )
    .set((
        dsl::next_attempt_at.eq(DbTimestamp::from(until)),
        dsl::version.eq(request.version + 1),
    ))
    .execute(connection)?;
    if updated == 0 {
        return Err(StoreError::Stale);
    }
    request.version += 1;
    request.next_attempt_at = until;
    Ok(())
}

/// The newest request of `request_type` and kind (a count, or the request itself) for the same
/// subject that is still on its way to its answer, if any. One answered and still standing (a
/// FORGET `completed_with_retention`, a RESTRICT `restricted`) is no duplicate: a new request of
/// the subject reaches what came since.
pub fn find_open_duplicate(
    connection: &mut AnyConnection,
    request_type: RequestType,
    count_only: bool,
    fingerprint: &str,
) -> QueryResult<Option<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        // A count is not the request it counts for: filing a FORGET while a count of the same
        // subject is open files the FORGET.
        .filter(dsl::count_only.eq(count_only))
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .filter(dsl::status.ne_all(answered_statuses()))
        .order(dsl::received_at.desc())
        .select(RequestRow::as_select())
        .first(connection)
        .optional()?
        .map(Request::try_from)
        .transpose()
}

/// The UNDO_FORGET (or LIFT_RESTRICTION: `request_type`) already filed against `target_id` under
/// `reference`, if any (whatever its state): a repeated undo or lift (a double click, a retry
/// after a timeout) answers it.
pub fn find_undo_of(
    connection: &mut AnyConnection,
    request_type: RequestType,
    target_id: Uuid,
    reference: &str,
) -> QueryResult<Option<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        .filter(dsl::target_request_id.eq(Some(DbUuid(target_id))))
        .filter(dsl::reference.eq(reference))
        .filter(dsl::identifiers_erased_at.is_null())
        .order(dsl::received_at.desc())
        .select(RequestRow::as_select())
        .first(connection)
        .optional()?
        .map(Request::try_from)
        .transpose()
}

/// The id of the newest FORGET for the subject, whatever its state.
pub fn find_latest_forget(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<Option<Uuid>> {
    use gdpr_requests::dsl;
    Ok(dsl::gdpr_requests
        .filter(dsl::request_type.eq(RequestType::Forget.as_str()))
        // A count erased nothing: there is nothing of it to undo.
        .filter(dsl::count_only.eq(false))
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .order(dsl::received_at.desc())
        .select(dsl::id)
        .first::<DbUuid>(connection)
        .optional()?
        .map(|id| id.0))
}

/// The requests of `request_type` (not counts) whose subject is still stored (not yet erased
/// after `gdpr.identifier_retention_days`), oldest first: which of them are a person's is the
/// caller's rule (`bundle::context::same_person`). Read in Rust: the subjects are JSON.
pub fn with_subject(connection: &mut AnyConnection, request_type: RequestType) -> QueryResult<Vec<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        .filter(dsl::count_only.eq(false))
        .filter(dsl::subject.is_not_null())
        .order(dsl::received_at.asc())
        .select(RequestRow::as_select())
        .load::<RequestRow>(connection)?
        .into_iter()
        .map(Request::try_from)
        .collect()
}

pub fn steps(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<Step>> {
    use gdpr_steps::dsl;
    dsl::gdpr_steps
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order((dsl::phase, dsl::position))
        .select(StepRow::as_select())
        .load(connection)?
        .into_iter()
        .map(Step::try_from)
        .collect()
}

/// The purge steps that kept something of each of `request_ids`, a few statements in all (the
/// worker's housekeeping reads every FORGET `completed_with_retention` each minute: one
/// statement a request would grow with them).
pub fn keeping_purge_steps(
    connection: &mut AnyConnection,
    request_ids: &[Uuid],
) -> QueryResult<std::collections::HashMap<Uuid, Vec<Step>>> {
    use gdpr_steps::dsl;
    let mut by_request: std::collections::HashMap<Uuid, Vec<Step>> = std::collections::HashMap::new();
    for chunk in request_ids.chunks(500) {
        let ids: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<StepRow> = dsl::gdpr_steps
            .filter(dsl::request_id.eq_any(ids))
            .filter(dsl::phase.eq(ParticipantAction::Purge.as_str()))
            .order((dsl::request_id, dsl::position))
            .select(StepRow::as_select())
            .load(connection)?;
        for row in rows {
            let step = Step::try_from(row)?;
            if !step.retained.is_empty() {
                by_request.entry(step.request_id).or_default().push(step);
            }
        }
    }
    Ok(by_request)
}

/// Inserts or replaces a step.
pub fn save_step(connection: &mut AnyConnection, step: &Step) -> QueryResult<()> {
    use gdpr_steps::dsl;
    let row = step.to_row()?;
    per_backend!(connection, |c| diesel::insert_into(gdpr_steps::table)
        .values(&row)
        .on_conflict((dsl::request_id, dsl::phase, dsl::participant))
        .do_update()
        .set(&row)
        .execute(c))?;
    Ok(())
}

/// Which requests a listing covers.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<RequestStatus>,
    pub overdue: bool,
}

/// Newest first by `(received_at, id)`, `limit` after the cursor.
pub fn list(
    connection: &mut AnyConnection,
    filter: &ListFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
    now: Timestamp,
) -> QueryResult<Vec<Request>> {
    use gdpr_requests::dsl;
    let mut query = dsl::gdpr_requests.select(RequestRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(dsl::status.eq(status.as_str()));
    }
    if filter.overdue {
        query = query
            .filter(dsl::status.ne_all(finished_statuses()))
            .filter(dsl::due_at.lt(DbTimestamp::from(now)));
    }
    if let Some((at, id)) = after {
        let at = DbTimestamp::from(at);
        query = query.filter(
            dsl::received_at
                .le(at)
                .and(dsl::received_at.lt(at).or(dsl::id.lt(DbUuid(id)))),
        );
    }
    query
        .order((dsl::received_at.desc(), dsl::id.desc()))
        .limit(limit)
        .load(connection)?
        .into_iter()
        .map(Request::try_from)
        .collect()
}

/// Unanswered requests past their due date.
pub fn overdue_count(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<i64> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::status.ne_all(answered_statuses()))
        .filter(dsl::due_at.lt(DbTimestamp::from(now)))
        .count()
        .get_result(connection)
}

/// Requests by status.
pub fn status_counts(connection: &mut AnyConnection) -> QueryResult<Vec<(RequestStatus, i64)>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .group_by(dsl::status)
        .select((dsl::status, diesel::dsl::count_star()))
        .load::<(String, i64)>(connection)?
        .into_iter()
        .map(|(status, n)| {
            RequestStatus::parse(&status)
                .map(|status| (status, n))
                .ok_or_else(|| corrupt(format!("unknown request status {status:?}")))
        })
        .collect()
}

/// Finished requests whose identifiers' retention has passed (`updated_at` before `before`), and
/// not erased yet.
pub fn retention_passed(connection: &mut AnyConnection, before: Timestamp) -> QueryResult<Vec<Uuid>> {
    use gdpr_requests::dsl;
    Ok(dsl::gdpr_requests
        .filter(dsl::status.eq_any(finished_statuses()))
        .filter(dsl::identifiers_erased_at.is_null())
        .filter(dsl::updated_at.lt(DbTimestamp::from(before)))
        .select(dsl::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// FORGETs erased but for what a legal hold keeps, last changed before `before`.
pub fn retaining_since(connection: &mut AnyConnection, before: Timestamp) -> QueryResult<Vec<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::status.eq(RequestStatus::CompletedWithRetention.as_str()))
        .filter(dsl::updated_at.lt(DbTimestamp::from(before)))
        .select(RequestRow::as_select())
        .load::<RequestRow>(connection)?
        .into_iter()
        .map(Request::try_from)
        .collect()
}

/// FORGETs still awaiting confirmation since before `before`.
pub fn unconfirmed_since(connection: &mut AnyConnection, before: Timestamp) -> QueryResult<Vec<Uuid>> {
    use gdpr_requests::dsl;
    Ok(dsl::gdpr_requests
        .filter(dsl::status.eq(RequestStatus::AwaitingConfirmation.as_str()))
        .filter(dsl::received_at.lt(DbTimestamp::from(before)))
        .select(dsl::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// What [`erase_identifiers`] does with a finished RECTIFY's correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    Erase,
    /// The subject's supplementary statement beside rows its rectify kept unchanged, while
    /// something may still keep them (`rectification::statement`): erased later
    /// ([`erase_correction`]).
    Keep,
}

/// Erases what a request holds that names or points to its subject: the subject, its
/// fingerprint, a RECTIFY's correction (unless `correction` keeps it), the case reference, the extension's reason, its requester verification's evidence
/// reference (how, by whom and when stay), and its steps' export data, Genesys
/// result links and copies to erase or restrict elsewhere. The request, its steps' counts and the audit log stay.
pub fn erase_identifiers(
    connection: &mut AnyConnection,
    request: &mut Request,
    correction: Correction,
    now: Timestamp,
) -> StoreResult<()> {
    request.subject = None;
    request.subject_fingerprint = None;
    if correction == Correction::Erase {
        request.rectification = None;
    }
    request.reference = None;
    request.extension_reason = None;
    request.identifiers_erased_at = Some(now);
    save_request(connection, request)?;
    verifications::erase_evidence(connection, request.id)?;
    diesel::update(gdpr_steps::table.filter(gdpr_steps::request_id.eq(DbUuid(request.id))))
        .set((
            gdpr_steps::export_data.eq(None::<String>),
            gdpr_steps::results_urls.eq(None::<String>),
            gdpr_steps::to_erase_elsewhere.eq(None::<String>),
            gdpr_steps::to_restrict_elsewhere.eq(None::<String>),
        ))
        .execute(connection)?;
    Ok(())
}

/// Erases the correction a finished RECTIFY kept past its other identifiers ([`Correction::Keep`]).
pub fn erase_correction(connection: &mut AnyConnection, request: &mut Request) -> StoreResult<()> {
    request.rectification = None;
    save_request(connection, request)
}

/// The finished RECTIFYs whose identifiers are erased but their correction kept
/// ([`Correction::Keep`]), for the housekeeping to erase it once nothing keeps it.
pub fn kept_corrections(connection: &mut AnyConnection) -> QueryResult<Vec<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(RequestType::Rectify.as_str()))
        .filter(dsl::identifiers_erased_at.is_not_null())
        .filter(dsl::rectification.is_not_null())
        .select(RequestRow::as_select())
        .load::<RequestRow>(connection)?
        .into_iter()
        .map(Request::try_from)
        .collect()
}

/// Steps whose export data is not sealed yet (written before bundles were encrypted).
pub fn unsealed_exports(connection: &mut AnyConnection, sealed_prefix: &str) -> QueryResult<Vec<Step>> {
    use gdpr_steps::dsl;
    dsl::gdpr_steps
        .filter(dsl::export_data.is_not_null())
        .filter(dsl::export_data.not_like(format!("{sealed_prefix}%")))
        .select(StepRow::as_select())
        .load(connection)?
        .into_iter()
        .map(Step::try_from)
        .collect()
}

/// The database's own clock: the undo-or-purge decision is taken on it, whichever replica asks.
pub fn database_now(connection: &mut AnyConnection) -> QueryResult<Timestamp> {
    #[derive(QueryableByName)]
    struct Now {
        #[diesel(sql_type = service_kit::database::sql_types::UtcTimestamp)]
        now: DbTimestamp,
    }
    let query = match connection {
        AnyConnection::Postgresql(_) => "SELECT now() AS now",
        AnyConnection::Sqlite(_) => "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS now",
    };
    let now: Now = diesel::sql_query(query).get_result(connection)?;
    now.now.into_domain()
}
