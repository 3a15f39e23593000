//! Requests and steps as typed values, and the rows they are stored as: a stored status, state or
//! subject that does not parse is an error, never a default.

use super::*;

pub(super) fn corrupt(what: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(what.to_string().into())
}

use contracts::gdpr::{AnswerLanguage, RequestStatus, RequestType, StepState};

/// The stored names of the statuses the worker takes up when due.
pub(crate) fn active_statuses() -> Vec<&'static str> {
    RequestStatus::ALL
        .into_iter()
        .filter(|s| s.is_active())
        .map(RequestStatus::as_str)
        .collect()
}

/// The stored names of the statuses nothing more happens in.
pub(super) fn finished_statuses() -> Vec<&'static str> {
    RequestStatus::ALL
        .into_iter()
        .filter(|s| s.is_finished())
        .map(RequestStatus::as_str)
        .collect()
}

/// The stored names of the statuses whose subject has the answer (never overdue).
pub(super) fn answered_statuses() -> Vec<&'static str> {
    RequestStatus::ALL
        .into_iter()
        .filter(|s| s.is_answered())
        .map(RequestStatus::as_str)
        .collect()
}

/// What vouched for a person who acted on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vouching {
    /// A token of the bank's identity provider, verified by the orchestrator.
    Provider,
    /// A bare `X-Acting-User` name (development only).
    DevelopmentHeader,
    /// Nobody: a client acting as itself.
    Caller,
}

impl Vouching {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::DevelopmentHeader => "development",
            Self::Caller => "caller",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Provider, Self::DevelopmentHeader, Self::Caller]
            .into_iter()
            .find(|v| v.as_str() == text)
    }

    /// Whether a person (not a client acting as itself) is vouched for.
    pub fn is_person(self) -> bool {
        self != Self::Caller
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
    /// What vouched for the person who filed it (none: filed before it was recorded).
    pub requested_vouched_by: Option<Vouching>,
    /// While the request still holds it.
    pub subject: Option<DataSubject>,
    pub subject_fingerprint: Option<String>,
    pub target_request_id: Option<Uuid>,
    /// The language of the subject's answer (none: filed before it was recorded).
    pub language: Option<AnswerLanguage>,
    /// A RECTIFY's correction (personal data: erased with the subject).
    pub rectification: Option<contracts::participant::Rectification>,
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

#[cfg(test)]
impl Request {
    /// Unit tests' request: `request_type` in `status`, filed by `alice` through the console (the
    /// identity provider vouching) at `received`; nothing decided yet.
    pub(crate) fn example(request_type: RequestType, status: RequestStatus, received: Timestamp) -> Self {
        Self {
            id: Uuid::now_v7(),
            request_type,
            status,
            count_only: false,
            reference: Some("CASE-1".to_owned()),
            requested_by: "alice".to_owned(),
            requested_via: "console".to_owned(),
            requested_vouched_by: Some(Vouching::Provider),
            subject: None,
            subject_fingerprint: None,
            target_request_id: None,
            language: Some(AnswerLanguage::En),
            rectification: None,
            received_at: received,
            due_at: domain::gdpr::due_after_months(received, 1).expect("a test's deadline before year 9999"),
            extension_months: 0,
            extension_reason: None,
            confirmed_at: None,
            confirmed_by: None,
            confirmed_via: None,
            purge_after: None,
            completed_at: None,
            identifiers_erased_at: None,
            status_reason: None,
            attempts: 0,
            next_attempt_at: received,
            updated_at: received,
            version: 0,
        }
    }
}

impl Request {
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.status.is_answered() && self.due_at < now
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gdpr_requests)]
pub(super) struct RequestRow {
    pub(super) id: DbUuid,
    pub(super) request_type: String,
    pub(super) status: String,
    pub(super) count_only: bool,
    pub(super) reference: String,
    pub(super) requested_by: String,
    pub(super) subject: Option<String>,
    pub(super) subject_fingerprint: Option<String>,
    pub(super) target_request_id: Option<DbUuid>,
    pub(super) received_at: DbTimestamp,
    pub(super) due_at: DbTimestamp,
    pub(super) extension_months: i32,
    pub(super) extension_reason: Option<String>,
    pub(super) confirmed_at: Option<DbTimestamp>,
    pub(super) confirmed_by: Option<String>,
    pub(super) purge_after: Option<DbTimestamp>,
    pub(super) completed_at: Option<DbTimestamp>,
    pub(super) identifiers_erased_at: Option<DbTimestamp>,
    pub(super) status_reason: Option<String>,
    pub(super) attempts: i32,
    pub(super) next_attempt_at: DbTimestamp,
    pub(super) updated_at: DbTimestamp,
    pub(super) version: i32,
    pub(super) requested_via: String,
    pub(super) confirmed_via: Option<String>,
    pub(super) requested_vouched_by: Option<String>,
    pub(super) answer_language: Option<String>,
    pub(super) rectification: Option<String>,
}

pub(crate) fn timestamp(value: Option<DbTimestamp>) -> QueryResult<Option<Timestamp>> {
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
        let language = row
            .answer_language
            .as_deref()
            .map(|l| AnswerLanguage::parse(l).ok_or_else(|| corrupt(format!("unknown answer language {l:?}"))))
            .transpose()?;
        Ok(Self {
            language,
            rectification: row
                .rectification
                .as_deref()
                .map(|r| from_json(r, "gdpr_requests.rectification"))
                .transpose()?,
            id: row.id.0,
            request_type: RequestType::parse(&row.request_type)
                .ok_or_else(|| corrupt(format!("unknown request type {:?}", row.request_type)))?,
            status: RequestStatus::parse(&row.status)
                .ok_or_else(|| corrupt(format!("unknown request status {:?}", row.status)))?,
            count_only: row.count_only,
            reference: (!erased).then_some(row.reference),
            requested_by: row.requested_by,
            requested_via: row.requested_via,
            requested_vouched_by: row
                .requested_vouched_by
                .as_deref()
                .map(|v| Vouching::parse(v).ok_or_else(|| corrupt(format!("unknown requested_vouched_by {v:?}"))))
                .transpose()?,
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
    pub(super) fn to_row(&self) -> QueryResult<RequestRow> {
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
            requested_vouched_by: self.requested_vouched_by.map(|v| v.as_str().to_owned()),
            answer_language: self.language.map(|l| l.as_str().to_owned()),
            rectification: self.rectification.as_ref().map(to_json).transpose()?,
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
    /// A forget's copies delivered outside ccbridge, to erase there (ids only).
    pub to_erase_elsewhere: Vec<contracts::participant::ExternalCopy>,
    /// A restriction's copies delivered outside ccbridge, to restrict there (ids only).
    pub to_restrict_elsewhere: Vec<contracts::participant::ExternalCopy>,
    /// A purge's: what a legal hold kept here (counts per category and basis).
    pub retained: Vec<contracts::legal_hold::Retained>,
    /// A purge's: the legal holds in force when it ran (it runs again when one of them ends).
    pub retention_holds: Vec<Uuid>,
    /// A purge's: the earliest end of a statutory rule over what it kept (it runs again then).
    pub retained_until: Option<Timestamp>,
    /// A RECTIFY's count and rectify: what a legal hold or a statutory rule keeps as evidence,
    /// left as it was (counts per category and basis).
    pub kept_unchanged: Vec<contracts::legal_hold::Retained>,
    /// A RECTIFY's count and rectify: per field pointer of the correction (`/phoneNumbers/0/to`),
    /// the rows or Genesys subjects not the subject's holding that value (the confirmation waits
    /// for none, [`crate::rectification::conflicts`]; a rectify did not apply those). `None`: no
    /// check ran (stored NULL), which is not "none found" (stored `{}`).
    pub conflicts: Option<std::collections::BTreeMap<String, u64>>,
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
            to_erase_elsewhere: Vec::new(),
            to_restrict_elsewhere: Vec::new(),
            retained: Vec::new(),
            retention_holds: Vec::new(),
            retained_until: None,
            kept_unchanged: Vec::new(),
            conflicts: None,
            export_data: None,
            detail: None,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = gdpr_steps)]
#[diesel(treat_none_as_null = true)]
pub(super) struct StepRow {
    pub(super) request_id: DbUuid,
    pub(super) phase: String,
    pub(super) participant: String,
    pub(super) position: i32,
    pub(super) state: String,
    pub(super) attempts: i32,
    pub(super) counts: Option<String>,
    pub(super) external_ref: Option<String>,
    pub(super) results_urls: Option<String>,
    pub(super) export_data: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) updated_at: DbTimestamp,
    pub(super) left_out: Option<String>,
    pub(super) to_erase_elsewhere: Option<String>,
    pub(super) retained: Option<String>,
    pub(super) retention_holds: Option<String>,
    pub(super) retained_until: Option<DbTimestamp>,
    pub(super) to_restrict_elsewhere: Option<String>,
    pub(super) kept_unchanged: Option<String>,
    pub(super) conflicts: Option<String>,
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
            to_erase_elsewhere: row
                .to_erase_elsewhere
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.to_erase_elsewhere"))
                .transpose()?
                .unwrap_or_default(),
            to_restrict_elsewhere: row
                .to_restrict_elsewhere
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.to_restrict_elsewhere"))
                .transpose()?
                .unwrap_or_default(),
            retained: row
                .retained
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.retained"))
                .transpose()?
                .unwrap_or_default(),
            retention_holds: row
                .retention_holds
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.retention_holds"))
                .transpose()?
                .unwrap_or_default(),
            retained_until: timestamp(row.retained_until)?,
            kept_unchanged: row
                .kept_unchanged
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.kept_unchanged"))
                .transpose()?
                .unwrap_or_default(),
            conflicts: row
                .conflicts
                .as_deref()
                .map(|t| from_json(t, "gdpr_steps.conflicts"))
                .transpose()?,
            export_data: row.export_data,
            detail: row.detail,
            updated_at: row.updated_at.into_domain()?,
        })
    }
}

impl Step {
    pub(super) fn to_row(&self) -> QueryResult<StepRow> {
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
            to_erase_elsewhere: (!self.to_erase_elsewhere.is_empty())
                .then(|| to_json(&self.to_erase_elsewhere))
                .transpose()?,
            to_restrict_elsewhere: (!self.to_restrict_elsewhere.is_empty())
                .then(|| to_json(&self.to_restrict_elsewhere))
                .transpose()?,
            retained: (!self.retained.is_empty())
                .then(|| to_json(&self.retained))
                .transpose()?,
            retention_holds: (!self.retention_holds.is_empty())
                .then(|| to_json(&self.retention_holds))
                .transpose()?,
            retained_until: self.retained_until.map(DbTimestamp::from),
            kept_unchanged: (!self.kept_unchanged.is_empty())
                .then(|| to_json(&self.kept_unchanged))
                .transpose()?,
            // `{}` when a check found nothing: NULL is "never checked".
            conflicts: self.conflicts.as_ref().map(to_json).transpose()?,
        })
    }
}
