//! Requests, their steps and the audit log, as stored.

use crate::schema::{gdpr_audit_log, gdpr_requests, gdpr_steps};
use diesel::prelude::*;
use domain::gdpr::{CategoryCounts, DataSubject, ParticipantAction};
use domain::Timestamp;
use serde::Serialize;
use service_kit::database::sql_types::{DbTimestamp, DbUuid};
use service_kit::database::AnyConnection;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Export, Self::Forget, Self::UndoForget]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

/// A request's status. The worker takes up the "active" ones when they fall due.
pub mod status {
    pub const RECEIVED: &str = "received";
    /// A participant was not ready when a phase was to start; retried by itself.
    pub const BLOCKED: &str = "blocked";
    pub const COUNTING: &str = "counting";
    pub const AWAITING_CONFIRMATION: &str = "awaiting_confirmation";
    pub const EXPORTING: &str = "exporting";
    pub const FORGETTING: &str = "forgetting";
    /// FORGET: hidden everywhere; purged once the grace window has passed, unless undone.
    pub const IN_GRACE: &str = "in_grace";
    pub const PURGING: &str = "purging";
    pub const UNDOING: &str = "undoing";
    pub const COMPLETED: &str = "completed";
    /// FORGET: restored by an UNDO_FORGET within the grace window.
    pub const UNDONE: &str = "undone";
    /// FORGET: cancelled before its confirmation by an UNDO_FORGET; nothing was hidden.
    pub const CANCELLED: &str = "cancelled";
    /// FORGET in its grace window that an UNDO_FORGET is restoring: never purged.
    pub const UNDO_REQUESTED: &str = "undo_requested";

    pub const ALL: [&str; 13] = [
        RECEIVED,
        BLOCKED,
        COUNTING,
        AWAITING_CONFIRMATION,
        EXPORTING,
        FORGETTING,
        IN_GRACE,
        PURGING,
        UNDOING,
        COMPLETED,
        UNDONE,
        CANCELLED,
        UNDO_REQUESTED,
    ];
    /// What the worker takes up when due.
    pub const ACTIVE: [&str; 8] = [
        RECEIVED, BLOCKED, COUNTING, EXPORTING, FORGETTING, IN_GRACE, PURGING, UNDOING,
    ];
    pub const FINISHED: [&str; 3] = [COMPLETED, UNDONE, CANCELLED];
}

/// Step states.
pub mod step_state {
    pub const PENDING: &str = "pending";
    /// A call to the participant is under way (or its worker died during it: repeated safely).
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const PENDING_EXTERNAL: &str = "pending_external";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gdpr_requests)]
pub struct RequestRow {
    pub id: DbUuid,
    pub request_type: String,
    pub status: String,
    pub count_only: bool,
    pub reference: String,
    pub requested_by: String,
    pub subject: Option<String>,
    pub subject_fingerprint: Option<String>,
    pub target_request_id: Option<DbUuid>,
    pub received_at: DbTimestamp,
    pub due_at: DbTimestamp,
    pub extension_months: i32,
    pub extension_reason: Option<String>,
    pub confirmed_at: Option<DbTimestamp>,
    pub confirmed_by: Option<String>,
    pub purge_after: Option<DbTimestamp>,
    pub completed_at: Option<DbTimestamp>,
    pub identifiers_erased_at: Option<DbTimestamp>,
    pub status_reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DbTimestamp,
    pub updated_at: DbTimestamp,
}

impl RequestRow {
    pub fn request_type(&self) -> RequestType {
        RequestType::parse(&self.request_type).unwrap_or(RequestType::Export)
    }

    /// The subject, while the request still holds it.
    pub fn subject(&self) -> QueryResult<Option<DataSubject>> {
        self.subject
            .as_deref()
            .map(|s| serde_json::from_str(s).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e))))
            .transpose()
    }

    pub fn is_finished(&self) -> bool {
        status::FINISHED.contains(&self.status.as_str())
    }

    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.is_finished() && self.due_at.0 < now.as_offset_date_time()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gdpr_steps)]
pub struct StepRow {
    pub request_id: DbUuid,
    pub phase: String,
    pub participant: String,
    pub position: i32,
    pub state: String,
    pub attempts: i32,
    pub counts: Option<String>,
    pub external_ref: Option<String>,
    pub results_urls: Option<String>,
    pub export_data: Option<String>,
    pub detail: Option<String>,
    pub updated_at: DbTimestamp,
}

impl StepRow {
    pub fn new(request_id: Uuid, phase: ParticipantAction, participant: &str, position: usize, now: Timestamp) -> Self {
        Self {
            request_id: DbUuid(request_id),
            phase: phase.as_str().to_owned(),
            participant: participant.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            state: step_state::PENDING.to_owned(),
            attempts: 0,
            counts: None,
            external_ref: None,
            results_urls: None,
            export_data: None,
            detail: None,
            updated_at: now.into(),
        }
    }

    pub fn counts(&self) -> CategoryCounts {
        self.counts
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }

    pub fn results_urls(&self) -> Vec<String> {
        self.results_urls
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }
}

pub fn insert_request(connection: &mut AnyConnection, row: &RequestRow) -> QueryResult<()> {
    diesel::insert_into(gdpr_requests::table)
        .values(row)
        .execute(connection)
        .map(drop)
}

pub fn find_request(connection: &mut AnyConnection, id: Uuid) -> QueryResult<Option<RequestRow>> {
    gdpr_requests::table
        .find(DbUuid(id))
        .select(RequestRow::as_select())
        .first(connection)
        .optional()
}

/// Saves every field of the request (the worker and the routes change it under a lease or in a
/// transaction, never both at once for the same transition).
pub fn save_request(connection: &mut AnyConnection, row: &RequestRow) -> QueryResult<()> {
    use gdpr_requests::dsl;
    diesel::update(dsl::gdpr_requests.find(row.id))
        .set((
            dsl::status.eq(&row.status),
            dsl::subject.eq(&row.subject),
            dsl::subject_fingerprint.eq(&row.subject_fingerprint),
            dsl::due_at.eq(row.due_at),
            dsl::extension_months.eq(row.extension_months),
            dsl::extension_reason.eq(&row.extension_reason),
            dsl::confirmed_at.eq(row.confirmed_at),
            dsl::confirmed_by.eq(&row.confirmed_by),
            dsl::purge_after.eq(row.purge_after),
            dsl::completed_at.eq(row.completed_at),
            dsl::identifiers_erased_at.eq(row.identifiers_erased_at),
            dsl::status_reason.eq(&row.status_reason),
            dsl::next_attempt_at.eq(row.next_attempt_at),
            dsl::updated_at.eq(row.updated_at),
        ))
        .execute(connection)
        .map(drop)
}

/// The newest unfinished request of `request_type` for the same subject, if any.
pub fn find_open_duplicate(
    connection: &mut AnyConnection,
    request_type: RequestType,
    fingerprint: &str,
) -> QueryResult<Option<RequestRow>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(request_type.as_str()))
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .filter(dsl::status.ne_all(status::FINISHED))
        .order(dsl::received_at.desc())
        .select(RequestRow::as_select())
        .first(connection)
        .optional()
}

/// The newest FORGET for the subject, whatever its state.
pub fn find_latest_forget(connection: &mut AnyConnection, fingerprint: &str) -> QueryResult<Option<RequestRow>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::request_type.eq(RequestType::Forget.as_str()))
        .filter(dsl::subject_fingerprint.eq(fingerprint))
        .order(dsl::received_at.desc())
        .select(RequestRow::as_select())
        .first(connection)
        .optional()
}

pub fn steps(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<Vec<StepRow>> {
    use gdpr_steps::dsl;
    dsl::gdpr_steps
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order((dsl::phase, dsl::position))
        .select(StepRow::as_select())
        .load(connection)
}

/// Inserts or replaces a step.
pub fn save_step(connection: &mut AnyConnection, step: &StepRow) -> QueryResult<()> {
    use gdpr_steps::dsl;
    let updated = diesel::update(
        dsl::gdpr_steps
            .filter(dsl::request_id.eq(step.request_id))
            .filter(dsl::phase.eq(&step.phase))
            .filter(dsl::participant.eq(&step.participant)),
    )
    .set((
        dsl::state.eq(&step.state),
        dsl::attempts.eq(step.attempts),
        dsl::counts.eq(&step.counts),
        dsl::external_ref.eq(&step.external_ref),
        dsl::results_urls.eq(&step.results_urls),
        dsl::export_data.eq(&step.export_data),
        dsl::detail.eq(&step.detail),
        dsl::updated_at.eq(step.updated_at),
    ))
    .execute(connection)?;
    if updated == 0 {
        diesel::insert_into(gdpr_steps::table)
            .values(step)
            .execute(connection)?;
    }
    Ok(())
}

/// An audit entry: who did what to which request, with counts and states. Never identifiers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub request_id: Uuid,
    pub at: Timestamp,
    pub actor: String,
    pub event: String,
    pub detail: serde_json::Value,
}

/// The hash that links an audit entry to the one before it: SHA-256 over the previous hash and
/// every field, each length-prefixed so no two different entries hash alike.
fn entry_hash(previous: &str, entry: &ChainedEntry<'_>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [
        previous,
        &entry.id.to_string(),
        &entry.request_id.to_string(),
        &entry.sequence.to_string(),
        &entry.at.to_string(),
        entry.actor,
        entry.event,
        entry.detail,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What an audit entry's hash covers.
struct ChainedEntry<'a> {
    id: Uuid,
    request_id: Uuid,
    sequence: i32,
    at: Timestamp,
    actor: &'a str,
    event: &'a str,
    detail: &'a str,
}

/// Appends an entry to the request's audit chain. Callers hold the request's row (they changed it
/// in the same transaction), so appends to one chain never race; the unique
/// `(request_id, sequence)` index would refuse a fork anyway.
pub fn audit(
    connection: &mut AnyConnection,
    request_id: Uuid,
    actor: &str,
    event: &str,
    detail: &serde_json::Value,
    now: Timestamp,
) -> QueryResult<()> {
    use gdpr_audit_log::dsl;
    let last: Option<(Option<i32>, Option<String>)> = dsl::gdpr_audit_log
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .filter(dsl::sequence.is_not_null())
        .order(dsl::sequence.desc())
        .select((dsl::sequence, dsl::entry_hash))
        .first(connection)
        .optional()?;
    let (sequence, previous) = match last {
        Some((Some(sequence), Some(hash))) => (sequence + 1, hash),
        _ => (1, String::new()),
    };
    let id = Uuid::now_v7();
    let detail = detail.to_string();
    let hash = entry_hash(
        &previous,
        &ChainedEntry {
            id,
            request_id,
            sequence,
            at: now,
            actor,
            event,
            detail: &detail,
        },
    );
    diesel::insert_into(dsl::gdpr_audit_log)
        .values((
            dsl::id.eq(DbUuid(id)),
            dsl::request_id.eq(DbUuid(request_id)),
            dsl::at.eq(DbTimestamp::from(now)),
            dsl::actor.eq(actor),
            dsl::event.eq(event),
            dsl::detail.eq(&detail),
            dsl::sequence.eq(Some(sequence)),
            dsl::previous_hash.eq(Some(previous)),
            dsl::entry_hash.eq(Some(hash)),
        ))
        .execute(connection)
        .map(drop)
}

/// A request's audit log, and whether its hash chain is intact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    /// Every entry's hash matches its content and links to the entry before it.
    pub chain_verified: bool,
    /// The last entry's hash: record it elsewhere to detect a truncated log later.
    pub head: Option<String>,
}

pub fn audit_log(connection: &mut AnyConnection, request_id: Uuid) -> QueryResult<AuditTrail> {
    use gdpr_audit_log::dsl;
    type Row = (
        DbUuid,
        DbUuid,
        DbTimestamp,
        String,
        String,
        String,
        Option<i32>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = dsl::gdpr_audit_log
        .filter(dsl::request_id.eq(DbUuid(request_id)))
        .order((dsl::sequence, dsl::at, dsl::id))
        .select((
            dsl::id,
            dsl::request_id,
            dsl::at,
            dsl::actor,
            dsl::event,
            dsl::detail,
            dsl::sequence,
            dsl::previous_hash,
            dsl::entry_hash,
        ))
        .load(connection)?;
    let mut verified = true;
    let mut expected_previous = String::new();
    let mut entries = Vec::with_capacity(rows.len());
    let mut head = None;
    for (expected_sequence, (id, request, at, actor, event, detail, sequence, previous, hash)) in (1..).zip(rows) {
        let at = at.into_domain()?;
        let recomputed = sequence.map(|sequence| {
            let entry = ChainedEntry {
                id: id.0,
                request_id: request.0,
                sequence,
                at,
                actor: &actor,
                event: &event,
                detail: &detail,
            };
            entry_hash(previous.as_deref().unwrap_or(""), &entry)
        });
        verified &= sequence == Some(expected_sequence)
            && previous.as_deref() == Some(expected_previous.as_str())
            && hash.is_some()
            && recomputed == hash;
        expected_previous = hash.clone().unwrap_or_default();
        head = hash;
        entries.push(AuditEntry {
            id: id.0,
            request_id: request.0,
            at,
            actor,
            event,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(AuditTrail {
        entries,
        chain_verified: verified,
        head,
    })
}

/// Claims up to `limit` due active requests for `lease`.
pub fn claim_due(
    connection: &mut AnyConnection,
    now: Timestamp,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Uuid>> {
    use gdpr_requests::dsl;
    let now_db = DbTimestamp::from(now);
    let lease_until = DbTimestamp(now.as_offset_date_time() + lease);
    let ids = service_kit::claim_due_ids!(
        connection,
        dsl::gdpr_requests,
        dsl::id,
        dsl::next_attempt_at,
        dsl::attempts,
        dsl::status.eq_any(status::ACTIVE).and(dsl::next_attempt_at.le(now_db)),
        limit,
        lease_until
    )?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

/// Which requests a listing covers.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub overdue: bool,
}

/// Newest first by `(received_at, id)`, `limit` after the cursor.
pub fn list(
    connection: &mut AnyConnection,
    filter: &ListFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: i64,
    now: Timestamp,
) -> QueryResult<Vec<RequestRow>> {
    use gdpr_requests::dsl;
    let mut query = dsl::gdpr_requests.select(RequestRow::as_select()).into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(dsl::status.eq(status.clone()));
    }
    if filter.overdue {
        query = query
            .filter(dsl::status.ne_all(status::FINISHED))
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
        .load(connection)
}

/// Unfinished requests past their due date.
pub fn overdue_count(connection: &mut AnyConnection, now: Timestamp) -> QueryResult<i64> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .filter(dsl::status.ne_all(status::FINISHED))
        .filter(dsl::due_at.lt(DbTimestamp::from(now)))
        .count()
        .get_result(connection)
}

/// Requests by status.
pub fn status_counts(connection: &mut AnyConnection) -> QueryResult<Vec<(String, i64)>> {
    use gdpr_requests::dsl;
    dsl::gdpr_requests
        .group_by(dsl::status)
        .select((dsl::status, diesel::dsl::count_star()))
        .load(connection)
}

/// Finished requests whose retention has passed: their subject, fingerprint and export data go.
/// Returns the requests erased.
pub fn erase_expired_identifiers(
    connection: &mut AnyConnection,
    now: Timestamp,
    retention: Duration,
) -> QueryResult<Vec<Uuid>> {
    use gdpr_requests::dsl;
    let before = DbTimestamp(now.as_offset_date_time() - retention);
    connection.transaction(|c| {
        let ids: Vec<DbUuid> = dsl::gdpr_requests
            .filter(dsl::status.eq_any(status::FINISHED))
            .filter(dsl::identifiers_erased_at.is_null())
            .filter(dsl::updated_at.lt(before))
            .select(dsl::id)
            .load(c)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(dsl::gdpr_requests.filter(dsl::id.eq_any(&ids)))
            .set((
                dsl::subject.eq(None::<String>),
                dsl::subject_fingerprint.eq(None::<String>),
                dsl::identifiers_erased_at.eq(Some(DbTimestamp::from(now))),
            ))
            .execute(c)?;
        diesel::update(gdpr_steps::table.filter(gdpr_steps::request_id.eq_any(&ids)))
            .set(gdpr_steps::export_data.eq(None::<String>))
            .execute(c)?;
        for id in &ids {
            audit(
                c,
                id.0,
                "orchestrator",
                "identifiers_erased",
                &serde_json::json!({}),
                now,
            )?;
        }
        Ok(ids.into_iter().map(|id| id.0).collect())
    })
}
