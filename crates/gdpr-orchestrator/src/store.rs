//! Requests and their steps, as stored, read into typed values (a stored status, state or subject
//! that does not parse is an error, never a default) and written back only over the version that
//! was read.

use crate::schema::{gdpr_requests, gdpr_steps};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantAction};
use domain::Timestamp;
use serde::Serialize;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use service_kit::per_backend;
use std::time::Duration;
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

fn corrupt(what: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(what.to_string().into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    Export,
    Forget,
    UndoForget,
}

impl RequestType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Export => "EXPORT",
            Self::Forget => "FORGET",
            Self::UndoForget => "UNDO_FORGET",
        }
    }

    /// A client's spelling (any letter case).
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Export, Self::Forget, Self::UndoForget]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

/// Where a request stands. The worker takes up the active ones when they fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Received,
    /// A participant was not ready when a phase was to start; retried by itself.
    Blocked,
    Counting,
    AwaitingConfirmation,
    Exporting,
    Forgetting,
    /// FORGET: hidden everywhere; purged once the grace window has passed, unless undone.
    InGrace,
    Purging,
    Undoing,
    Completed,
    /// FORGET: restored by an UNDO_FORGET within the grace window.
    Undone,
    /// FORGET: cancelled before its confirmation by an UNDO_FORGET; nothing was hidden.
    Cancelled,
    /// FORGET in its grace window that an UNDO_FORGET is restoring: never purged.
    UndoRequested,
    /// FORGET never confirmed within `gdpr.confirmation_timeout_days`: its subject is erased.
    Expired,
}

impl RequestStatus {
    pub const ALL: [Self; 14] = [
        Self::Received,
        Self::Blocked,
        Self::Counting,
        Self::AwaitingConfirmation,
        Self::Exporting,
        Self::Forgetting,
        Self::InGrace,
        Self::Purging,
        Self::Undoing,
        Self::Completed,
        Self::Undone,
        Self::Cancelled,
        Self::UndoRequested,
        Self::Expired,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Blocked => "blocked",
            Self::Counting => "counting",
            Self::AwaitingConfirmation => "awaiting_confirmation",
            Self::Exporting => "exporting",
            Self::Forgetting => "forgetting",
            Self::InGrace => "in_grace",
            Self::Purging => "purging",
            Self::Undoing => "undoing",
            Self::Completed => "completed",
            Self::Undone => "undone",
            Self::Cancelled => "cancelled",
            Self::UndoRequested => "undo_requested",
            Self::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// What the worker takes up when due.
    pub const fn is_active(self) -> bool {
        match self {
            Self::Received
            | Self::Blocked
            | Self::Counting
            | Self::Exporting
            | Self::Forgetting
            | Self::InGrace
            | Self::Purging
            | Self::Undoing => true,
            Self::AwaitingConfirmation
            | Self::Completed
            | Self::Undone
            | Self::Cancelled
            | Self::UndoRequested
            | Self::Expired => false,
        }
    }

    /// Nothing more happens to it.
    pub const fn is_finished(self) -> bool {
        match self {
            Self::Completed | Self::Undone | Self::Cancelled | Self::Expired => true,
            Self::Received
            | Self::Blocked
            | Self::Counting
            | Self::AwaitingConfirmation
            | Self::Exporting
            | Self::Forgetting
            | Self::InGrace
            | Self::Purging
            | Self::Undoing
            | Self::UndoRequested => false,
        }
    }

    fn active() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(Self::as_str)
            .collect()
    }

    fn finished() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .map(Self::as_str)
            .collect()
    }
}

/// Where a participant's step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    /// A call to the participant is under way (or its worker died during it: repeated safely).
    Running,
    Done,
    PendingExternal,
    Failed,
}

impl StepState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::PendingExternal => "pending_external",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Done,
            Self::PendingExternal,
            Self::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }
}

/// A request, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Uuid,
    pub request_type: RequestType,
    pub status: RequestStatus,
    pub count_only: bool,
    /// The case number; erased with the identifiers.
    pub reference: Option<String>,
    /// The person who filed it, and the client they came through.
    pub requested_by: String,
    pub requested_via: String,
    /// While the request still holds it.
    pub subject: Option<DataSubject>,
    pub subject_fingerprint: Option<String>,
    pub target_request_id: Option<Uuid>,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    pub extension_months: i32,
    pub extension_reason: Option<String>,
    pub confirmed_at: Option<Timestamp>,
    pub confirmed_by: Option<String>,
    pub confirmed_via: Option<String>,
    pub purge_after: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub identifiers_erased_at: Option<Timestamp>,
    pub status_reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub updated_at: Timestamp,
    /// What this copy was read at; a save succeeds only over the same version.
    pub version: i32,
}

impl Request {
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.status.is_finished() && self.due_at < now
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gdpr_requests)]
struct RequestRow {
    id: DbUuid,
    request_type: String,
    status: String,
    count_only: bool,
    reference: String,
    requested_by: String,
    subject: Option<String>,
    subject_fingerprint: Option<String>,
    target_request_id: Option<DbUuid>,
    received_at: DbTimestamp,
    due_at: DbTimestamp,
    extension_months: i32,
    extension_reason: Option<String>,
    confirmed_at: Option<DbTimestamp>,
    confirmed_by: Option<String>,
    purge_after: Option<DbTimestamp>,
    completed_at: Option<DbTimestamp>,
    identifiers_erased_at: Option<DbTimestamp>,
    status_reason: Option<String>,
    attempts: i32,
    next_attempt_at: DbTimestamp,
    updated_at: DbTimestamp,
    version: i32,
    requested_via: String,
    confirmed_via: Option<String>,
}

fn timestamp(value: Option<DbTimestamp>) -> QueryResult<Option<Timestamp>> {
    value.map(DbTimestamp::into_domain).transpose()
}

/// JSON for a text column; a failure is an error (never an empty value).
pub fn to_json<T: Serialize>(value: &T) -> QueryResult<String> {
    serde_json::to_string(value).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> QueryResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{column}: {e}")))
}

impl TryFrom<RequestRow> for Request {
    type Error = diesel::result::Error;
    fn try_from(row: RequestRow) -> QueryResult<Self> {
        let erased = row.identifiers_erased_at.is_some();
        Ok(Self {
            id: row.id.0,
            request_type: RequestType::parse(&row.request_type)
                .ok_or_else(|| corrupt(format!("unknown request type {:?}", row.request_type)))?,
            status: RequestStatus::parse(&row.status)
                .ok_or_else(|| corrupt(format!("unknown request status {:?}", row.status)))?,
            count_only: row.count_only,
            reference: (!erased).then_some(row.reference),
            requested_by: row.requested_by,
            requested_via: row.requested_via,
            subject: row
                .subject
                .as_deref()
                .map(|s| from_json(s, "gdpr_requests.subject"))
                .transpose()?,
            subject_fingerprint: row.subject_fingerprint,
            target_request_id: row.target_request_id.map(|t| t.0),
            received_at: row.received_at.into_domain()?,
            due_at: row.due_at.into_domain()?,
            extension_months: row.extension_months,
            extension_reason: row.extension_reason,
            confirmed_at: timestamp(row.confirmed_at)?,
            confirmed_by: row.confirmed_by,
            confirmed_via: row.confirmed_via,
            purge_after: timestamp(row.purge_after)?,
            completed_at: timestamp(row.completed_at)?,
            identifiers_erased_at: timestamp(row.identifiers_erased_at)?,
            status_reason: row.status_reason,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.into_domain()?,
            updated_at: row.updated_at.into_domain()?,
            version: row.version,
        })
    }
}

impl Request {
    fn to_row(&self) -> QueryResult<RequestRow> {
        Ok(RequestRow {
            id: DbUuid(self.id),
            request_type: self.request_type.as_str().to_owned(),
            status: self.status.as_str().to_owned(),
            count_only: self.count_only,
            reference: self.reference.clone().unwrap_or_default(),
            requested_by: self.requested_by.clone(),
            subject: self.subject.as_ref().map(to_json).transpose()?,
            subject_fingerprint: self.subject_fingerprint.clone(),
            target_request_id: self.target_request_id.map(DbUuid),
            received_at: self.received_at.into(),
            due_at: self.due_at.into(),
            extension_months: self.extension_months,
            extension_reason: self.extension_reason.clone(),
            confirmed_at: self.confirmed_at.map(DbTimestamp::from),
            confirmed_by: self.confirmed_by.clone(),
            purge_after: self.purge_after.map(DbTimestamp::from),
            completed_at: self.completed_at.map(DbTimestamp::from),
            identifiers_erased_at: self.identifiers_erased_at.map(DbTimestamp::from),
            status_reason: self.status_reason.clone(),
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.into(),
            updated_at: self.updated_at.into(),
            version: self.version,
            requested_via: self.requested_via.clone(),
            confirmed_via: self.confirmed_via.clone(),
        })
    }
}

/// One participant's part of a phase, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub request_id: Uuid,
    pub phase: ParticipantAction,
    pub participant: String,
    pub position: i32,
    pub state: StepState,
    pub attempts: i32,
    pub counts: CategoryCounts,
    pub left_out: CategoryCounts,
    pub external_ref: Option<String>,
    pub results_urls: Vec<String>,
    /// An export's data, sealed ([`crate::bundle`]); erased with the identifiers.
    pub export_data: Option<String>,
    pub detail: Option<String>,
    pub updated_at: Timestamp,
}

impl Step {
    pub fn new(request_id: Uuid, phase: ParticipantAction, participant: &str, position: usize, now: Timestamp) -> Self {
        Self {
            request_id,
            phase,
            participant: participant.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            state: StepState::Pending,
            attempts: 0,
            counts: CategoryCounts::new(),
            left_out: CategoryCounts::new(),
            external_ref: None,
            results_urls: Vec::new(),
            export_data: None,
            detail: None,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = gdpr_steps)]
#[diesel(treat_none_as_null = true)]
struct StepRow {
    request_id: DbUuid,
    phase: String,
    participant: String,
    position: i32,
    state: String,
    attempts: i32,
    counts: Option<String>,
    external_ref: Option<String>,
    results_urls: Option<String>,
    export_data: Option<String>,
    detail: Option<String>,
    updated_at: DbTimestamp,
    left_out: Option<String>,
}

impl TryFrom<StepRow> for Step {
    type Error = diesel::result::Error;
    fn try_from(row: StepRow) -> QueryResult<Self> {
        let counts = |text: Option<String>, column| {
            text.as_deref()
                .map(|t| from_json::<CategoryCounts>(t, column))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(Self {
            request_id: row.request_id.0,
            phase: ParticipantAction::parse(&row.phase)
                .ok_or_else(|| corrupt(format!("unknown phase {:?}", row.phase)))?,
            participant: row.participant,
            position: row.position,
            state: StepState::parse(&row.state)
                .ok_or_else(|| corrupt(format!("unknown step state {:?}", row.state)))?,
            attempts: row.attempts,
            counts: counts(row.counts, "gdpr_steps.counts")?,
            left_out: counts(row.left_out, "gdpr_steps.left_out")?,
            external_ref: row.external_ref,
            results_urls: row
                .results_urls
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.results_urls"))
                .transpose()?
                .unwrap_or_default(),
            export_data: row.export_data,
            detail: row.detail,
            updated_at: row.updated_at.into_domain()?,
        })
    }
}

impl Step {
    fn to_row(&self) -> QueryResult<StepRow> {
        Ok(StepRow {
            request_id: DbUuid(self.request_id),
            phase: self.phase.as_str().to_owned(),
            participant: self.participant.clone(),
            position: self.position,
            state: self.state.as_str().to_owned(),
            attempts: self.attempts,
            counts: Some(to_json(&self.counts)?),
            external_ref: self.external_ref.clone(),
            results_urls: (!self.results_urls.is_empty())
                .then(|| to_json(&self.results_urls))
                .transpose()?,
            export_data: self.export_data.clone(),
            detail: self.detail.clone(),
            updated_at: self.updated_at.into(),
            left_out: (!self.left_out.is_empty())
                .then(|| to_json(&self.left_out))
                .transpose()?,
        })
    }
}

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

/// The newest unfinished request of `request_type` for the same subject, if any.
pub fn find_open_duplicate(
    connection: &mut AnyConnection,
    request_type: RequestType,
    fingerprint: &str,
) -> QueryResult<Option<Request>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .filter(dsl::status.ne_all(RequestStatus::finished()))
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
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .order(dsl::received_at.desc())
        .select(dsl::id)
        .first::<DbUuid>(connection)
        .optional()?
        .map(|id| id.0))
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

/// Claims the due active request that has waited longest, for `lease`: its `next_attempt_at`
/// moves to the lease's end and its version on, so whoever held it before can save nothing more
/// (PostgreSQL: `SKIP LOCKED`, so replicas claim different requests).
pub fn claim_next(connection: &mut AnyConnection, now: Timestamp, lease: Duration) -> QueryResult<Option<Uuid>> {
    use gdpr_requests::dsl;
    let lease_until = DbTimestamp(now.as_offset_date_time() + lease);
    service_kit::database::write_transaction(connection, |c| {
        let due = || {
            dsl::gdpr_requests
                .filter(dsl::status.eq_any(RequestStatus::active()))
                .filter(dsl::next_attempt_at.le(DbTimestamp::from(now)))
                .order(dsl::next_attempt_at)
                .select(dsl::id)
        };
        let id: Option<DbUuid> = match c {
            AnyConnection::Postgresql(pg) => due().for_update().skip_locked().first(pg).optional()?,
            AnyConnection::Sqlite(sqlite) => due().first(sqlite).optional()?,
        };
        let Some(id) = id else { return Ok(None) };
        diesel::update(dsl::gdpr_requests.find(id))
            .set((
                dsl::next_attempt_at.eq(lease_until),
                dsl::attempts.eq(dsl::attempts + 1),
                dsl::version.eq(dsl::version + 1),
            ))
            .execute(c)?;
        Ok(Some(id.0))
    })
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
            .filter(dsl::status.ne_all(RequestStatus::finished()))
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

/// Unfinished requests past their due date.
pub fn overdue_count(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<i64> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::status.ne_all(RequestStatus::finished()))
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
        .filter(dsl::status.eq_any(RequestStatus::finished()))
        .filter(dsl::identifiers_erased_at.is_null())
        .filter(dsl::updated_at.lt(DbTimestamp::from(before)))
        .select(dsl::id)
        .load::<DbUuid>(connection)?
        .into_iter()
        .map(|id| id.0)
        .collect())
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

/// Erases what a request holds that names or points to its subject: the subject, its
/// fingerprint, the case reference, the extension's reason, and its steps' export data and
/// Genesys result links. The request, its steps' counts and the audit log stay.
pub fn erase_identifiers(connection: &mut AnyConnection, request: &mut Request, now: Timestamp) -> StoreResult<()> {
    request.subject = None;
    request.subject_fingerprint = None;
    request.reference = None;
    request.extension_reason = None;
    request.identifiers_erased_at = Some(now);
    save_request(connection, request)?;
    diesel::update(gdpr_steps::table.filter(gdpr_steps::request_id.eq(DbUuid(request.id))))
        .set((
            gdpr_steps::export_data.eq(None::<String>),
            gdpr_steps::results_urls.eq(None::<String>),
        ))
        .execute(connection)?;
    Ok(())
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
