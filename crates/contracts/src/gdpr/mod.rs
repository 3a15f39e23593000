//! gdpr-orchestrator's API: filing a GDPR request (EXPORT, FORGET, UNDO_FORGET, RESTRICT,
//! LIFT_RESTRICTION, RECTIFY), the request as answered (status, counts, deadlines, what may happen next),
//! the DPO's decisions on it (confirm, extend, undo, lift), and what is collected from it (the
//! export bundle, the audit trail).
//!
//! The orchestrator's routes take and return these types and its OpenAPI document is generated
//! from them; the console and the `gdpr` command deserialise the same types. A request as served
//! never holds the subject.

mod answer;
mod audit;
mod bundle;
mod rectification;
mod verification;

pub use answer::{AnswerLanguage, SubjectAnswer};
pub use audit::{AuditEntry, AuditTrail};
pub use bundle::{Bundle, Manifest, ManifestAnswer, ManifestFile};
pub use rectification::{CustomerCorrectionInput, HandleReplacementInput, ReplacementInput};
pub use verification::{RecordVerification, RequesterVerification, VerificationMethod};

use domain::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    Export,
    Forget,
    UndoForget,
    /// GDPR Art. 18: the subject's data is kept but hidden from every back-office use (as a
    /// FORGET hides it, erasing nothing) until a LIFT_RESTRICTION lifts it; still exported.
    Restrict,
    /// Lifts a RESTRICT (`POST /gdpr/requests/{id}/lift`), once a second person confirmed it.
    LiftRestriction,
    /// GDPR Art. 16: replaces the subject's phone numbers or e-mail addresses (`replacement`)
    /// everywhere, Genesys Cloud and the communication-history-manager included, or moves
    /// interactions attributed to the subject's customer to the right one; counted first, then
    /// confirmed by a second person, as a FORGET.
    Rectify,
}

impl RequestType {
    pub const ALL: [Self; 6] = [
        Self::Export,
        Self::Forget,
        Self::UndoForget,
        Self::Restrict,
        Self::LiftRestriction,
        Self::Rectify,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Export => "EXPORT",
            Self::Forget => "FORGET",
            Self::UndoForget => "UNDO_FORGET",
            Self::Restrict => "RESTRICT",
            Self::LiftRestriction => "LIFT_RESTRICTION",
            Self::Rectify => "RECTIFY",
        }
    }

    /// A client's spelling (any letter case).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(value))
    }
}

/// Where a request stands. The orchestrator's worker takes up the active ones when they fall due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// FORGET: erased everywhere except what a legal hold keeps (hidden meanwhile); the steps
    /// say what, per participant, category and basis. Erased by itself when the hold ends, then
    /// `completed`.
    CompletedWithRetention,
    /// FORGET: restored by an UNDO_FORGET within the grace window.
    Undone,
    /// FORGET: cancelled before its confirmation by an UNDO_FORGET; nothing was hidden.
    Cancelled,
    /// FORGET in its grace window that an UNDO_FORGET is restoring: never purged.
    UndoRequested,
    /// FORGET never confirmed within `gdpr.confirmation_timeout_days`: its subject is erased.
    /// (A LIFT_RESTRICTION never confirmed expires alike; its RESTRICT stays `restricted`.)
    Expired,
    /// RESTRICT: the participants are hiding the subject's data.
    Restricting,
    /// RESTRICT: hidden everywhere (nothing erased; still exported) until a LIFT_RESTRICTION
    /// lifts it. Answered: never overdue or extended.
    Restricted,
    /// RESTRICT: lifted by a LIFT_RESTRICTION; everything it hid shows again.
    Lifted,
    /// RECTIFY: the participants are correcting the subject's data (then `completed`).
    Rectifying,
}

impl RequestStatus {
    pub const ALL: [Self; 19] = [
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
        Self::CompletedWithRetention,
        Self::Undone,
        Self::Cancelled,
        Self::UndoRequested,
        Self::Expired,
        Self::Restricting,
        Self::Restricted,
        Self::Lifted,
        Self::Rectifying,
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
            Self::CompletedWithRetention => "completed_with_retention",
            Self::Undone => "undone",
            Self::Cancelled => "cancelled",
            Self::UndoRequested => "undo_requested",
            Self::Expired => "expired",
            Self::Restricting => "restricting",
            Self::Restricted => "restricted",
            Self::Lifted => "lifted",
            Self::Rectifying => "rectifying",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// What the orchestrator's worker takes up when due.
    pub const fn is_active(self) -> bool {
        match self {
            Self::Received
            | Self::Blocked
            | Self::Counting
            | Self::Exporting
            | Self::Forgetting
            | Self::InGrace
            | Self::Purging
            | Self::Undoing
            | Self::Restricting
            | Self::Rectifying => true,
            Self::AwaitingConfirmation
            | Self::Completed
            | Self::CompletedWithRetention
            | Self::Undone
            | Self::Cancelled
            | Self::UndoRequested
            | Self::Expired
            | Self::Restricted
            | Self::Lifted => false,
        }
    }

    /// Nothing more happens to it.
    pub const fn is_finished(self) -> bool {
        match self {
            Self::Completed | Self::Undone | Self::Cancelled | Self::Expired | Self::Lifted => true,
            Self::Received
            | Self::Blocked
            | Self::Counting
            | Self::AwaitingConfirmation
            | Self::Exporting
            | Self::Forgetting
            | Self::InGrace
            | Self::Purging
            | Self::Undoing
            | Self::UndoRequested
            | Self::CompletedWithRetention
            | Self::Restricting
            | Self::Rectifying
            // Stays until lifted (its subject is what the lift acts on).
            | Self::Restricted => false,
        }
    }

    /// The subject has the answer: finished, erased but for what a legal hold keeps, or
    /// restricted (until lifted). Never overdue, never extended.
    pub const fn is_answered(self) -> bool {
        self.is_finished() || matches!(self, Self::CompletedWithRetention | Self::Restricted)
    }
}

/// Where a participant's step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Running,
        Self::Done,
        Self::PendingExternal,
        Self::Failed,
    ];

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
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }
}

/// What the caller who asked may do to a request now, as the orchestrator's own state rules
/// decide it (the same code that then accepts or refuses the action): a client shows its buttons
/// from these and never re-implements a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllowedAction {
    /// `POST /gdpr/requests/{id}/confirm`: a FORGET, a RECTIFY or a LIFT_RESTRICTION awaiting
    /// confirmation, by someone four eyes allow (never the person who filed it).
    Confirm,
    /// `POST /gdpr/requests/{id}/extend`: an unfinished request with less than two months of
    /// extension granted.
    Extend,
    /// `POST /gdpr/requests/{id}/undo`: a FORGET (not a count) not yet confirmed, or in its grace
    /// window.
    Undo,
    /// `POST /gdpr/requests/{id}/lift`: a RESTRICT (not a count) that is `restricted`.
    Lift,
    /// `GET /gdpr/requests/{id}/export`: a completed EXPORT (not a count) whose bundle is kept,
    /// its requester's identity verified (unless `gdpr.requester_verification = "advisory"`).
    Download,
    /// `POST /gdpr/requests/{id}/verification`: record how the requester's identity was verified
    /// (an EXPORT, FORGET, RESTRICT or RECTIFY, not a count, not yet recorded), by a person the
    /// identity provider signed in. While it is missing (and `gdpr.requester_verification =
    /// "required"`, the default), a FORGET or a RECTIFY is not confirmed and an export bundle not
    /// downloaded.
    RecordVerification,
}

/// The data subject as a client names it: any mix of identifiers, in any form Genesys sends
/// (phone numbers in national form are read with the orchestrator's `handles.default_region`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectInput {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genesys_user_ids: Vec<String>,
}

/// `POST /gdpr/requests`: a new request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileRequest {
    /// EXPORT, FORGET, UNDO_FORGET, RESTRICT or RECTIFY (any letter case; anything else is
    /// refused naming `/type`; a LIFT_RESTRICTION is filed with `POST /gdpr/requests/{id}/lift`).
    #[serde(rename = "type")]
    pub request_type: String,
    pub subject: SubjectInput,
    /// The case number in the bank's ticketing.
    pub reference: String,
    /// Only count what would be exported, erased or corrected.
    #[serde(default)]
    pub count_only: bool,
    /// A RECTIFY's correction (required for it, refused on any other type, naming
    /// `/replacement`). Personal data: never served back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<ReplacementInput>,
    /// The language of the answer the subject reads: `cs` or `en` (default
    /// `gdpr.answer_language`; anything else is refused naming `/language`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl FileRequest {
    pub fn new(
        request_type: RequestType,
        subject: SubjectInput,
        reference: impl Into<String>,
        count_only: bool,
    ) -> Self {
        Self {
            request_type: request_type.as_str().to_owned(),
            subject,
            reference: reference.into(),
            count_only,
            language: None,
            replacement: None,
        }
    }

    /// A RECTIFY of `subject` correcting what `replacement` names.
    pub fn rectify(
        subject: SubjectInput,
        replacement: ReplacementInput,
        reference: impl Into<String>,
        count_only: bool,
    ) -> Self {
        Self {
            replacement: Some(replacement),
            ..Self::new(RequestType::Rectify, subject, reference, count_only)
        }
    }

    /// The same request, its answer in `language`.
    #[must_use]
    pub fn in_language(mut self, language: AnswerLanguage) -> Self {
        self.language = Some(language.as_str().to_owned());
        self
    }
}

/// `POST /gdpr/requests/{id}/undo`: an UNDO_FORGET of this FORGET, filed under its own case
/// number.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UndoForget {
    /// The case number in the bank's ticketing.
    pub reference: String,
}

/// `POST /gdpr/requests/{id}/lift`: a LIFT_RESTRICTION of this RESTRICT, filed under its own case
/// number; it waits for a second person's confirmation. GDPR Art. 18(3): the DPO tells the
/// subject before the restriction is lifted.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiftRestriction {
    /// The case number in the bank's ticketing.
    pub reference: String,
}

/// `POST /gdpr/requests/{id}/extend`: an extension of the deadline.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtendDeadline {
    /// 1 or 2; at most two months in all.
    pub months: i32,
    pub reason: String,
}

/// `GET /gdpr/requests`: which requests, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRequests {
    /// Only requests with this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only unfinished requests past their due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    /// `next` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// One participant's part, as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GdprStep {
    /// count, export, forget, purge, undo, restrict or rectify.
    pub phase: crate::participant::ParticipantAction,
    pub participant: String,
    pub state: StepState,
    pub attempts: i32,
    pub counts: BTreeMap<String, u64>,
    /// Rows the subject's handles found that belong to a customer outside the request: left
    /// alone, counted per category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub left_out: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results_urls: Vec<String>,
    /// A purge's: copies of the subject's data this participant delivered outside ccbridge (the
    /// bank's communication-history-manager), of exactly the rows the request's purges erased:
    /// erase them there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_erase_elsewhere: Vec<crate::participant::ExternalCopy>,
    /// A restriction's: copies of the rows it restricted delivered outside ccbridge: restrict
    /// them there, never erase (GDPR Art. 19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_restrict_elsewhere: Vec<crate::participant::ExternalCopy>,
    /// A purge's: what a legal hold kept here (hidden meanwhile), per category and basis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained: Vec<crate::legal_hold::Retained>,
    /// A RECTIFY's count and rectify: rows here the correction reaches that a legal hold or a
    /// statutory rule keeps as evidence, per category and basis. They stay as they were; the
    /// correction, kept with the request, is the subject's statement beside them (GDPR Art. 16).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_unchanged: Vec<crate::legal_hold::Retained>,
    /// A RECTIFY's count and rectify: per field of the correction this participant was sent
    /// (`/phoneNumbers/0/to`), the rows or Genesys Cloud
    /// subjects here not the subject's holding that value. A rectify's are replacements it did
    /// not apply here (the value was taken by someone else after the count): those rows keep
    /// the old value. Absent: no check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<BTreeMap<String, u64>>,
    pub updated_at: Timestamp,
}

/// The 409 problem kind (`urn:ccbridge:problem:rectification-conflict`) of a RECTIFY's
/// confirmation while its count found values of it that people other than the subject hold
/// ([`GdprRequest::conflicts`]); one error a field, by its pointer.
pub const RECTIFICATION_CONFLICT: &str = "rectification-conflict";

/// The 409 problem kind (`urn:ccbridge:problem:rectification-not-counted`) of a RECTIFY's
/// confirmation while one of its count steps carries no check of who else holds its values (a
/// participant of a version before the check counted it; [`GdprRequest::conflicts`] absent):
/// filed again (the same correction), it is counted again, with the check.
pub const RECTIFICATION_NOT_COUNTED: &str = "rectification-not-counted";

/// A request as served: states, counts, dates, who acted and what may happen next; never the
/// subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GdprRequest {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub count_only: bool,
    /// The case number; null once the identifiers are erased.
    pub reference: Option<String>,
    /// The person who filed it, and the client they came through.
    pub requested_by: String,
    pub requested_via: String,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    pub overdue: bool,
    pub extension_months: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_after: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers_erased_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_request_id: Option<Uuid>,
    /// How the requester's identity was verified; absent until recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_verification: Option<RequesterVerification>,
    /// The language of the subject's answer (absent: filed before it was recorded; the
    /// orchestrator's `gdpr.answer_language` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<AnswerLanguage>,
    /// Totals per phase and category over every participant (`{phase}.{category}`).
    pub counts: BTreeMap<String, u64>,
    /// Rows left out because they belong to a customer outside the request, per phase and
    /// category over every participant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub left_out: BTreeMap<String, u64>,
    /// A RECTIFY's: what its count found holding a value of the correction that is not the
    /// subject's, per field of the filed `replacement` (`/replacement/phoneNumbers/0/to`: rows or
    /// Genesys Cloud subjects already holding the new value; `…/from`: other Genesys Cloud
    /// subjects holding the old one, which Genesys would correct too), summed over the
    /// participants. Counts, never values. While any is listed the request is never confirmed
    /// (409 [`RECTIFICATION_CONFLICT`]); in lists too. `{}` when every count step checked and
    /// found nothing; absent when one did not check (a RECTIFY then is never confirmed either:
    /// 409 [`RECTIFICATION_NOT_COUNTED`]) and for other types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<BTreeMap<String, u64>>,
    /// What the caller who asked may do to it now, in this order: confirm, extend, undo, lift,
    /// download, record_verification. Decided by the rules that accept or refuse each action, for this caller (four
    /// eyes: never `confirm` to the person who filed a FORGET or a LIFT_RESTRICTION), at the
    /// time of the answer.
    pub allowed_actions: Vec<AllowedAction>,
    /// Each participant's part (the request alone; not in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<GdprStep>>,
}

impl GdprRequest {
    /// Whether the caller who asked may now take `action`.
    pub fn allows(&self, action: AllowedAction) -> bool {
        self.allowed_actions.contains(&action)
    }

    /// How many copies of the subject's data the participants delivered outside ccbridge, which a
    /// forget's purge lists for the bank to erase there.
    pub fn to_erase_elsewhere(&self) -> usize {
        self.participants
            .iter()
            .flatten()
            .map(|step| step.to_erase_elsewhere.len())
            .sum()
    }

    /// A RECTIFY's rows kept as evidence and left as they were, per participant (its steps of the
    /// latest phase that said: the rectify once it ran, the count before), category and basis.
    pub fn kept_unchanged(&self) -> Vec<(&str, &crate::legal_hold::Retained)> {
        let steps = self.participants.iter().flatten();
        use crate::participant::ParticipantAction;
        let rectified = steps.clone().any(|step| step.phase == ParticipantAction::Rectify);
        let phase = if rectified {
            ParticipantAction::Rectify
        } else {
            ParticipantAction::Count
        };
        steps
            .filter(|step| step.phase == phase)
            .flat_map(|step| {
                step.kept_unchanged
                    .iter()
                    .map(move |kept| (step.participant.as_str(), kept))
            })
            .collect()
    }

    /// How many copies of the subject's data delivered outside ccbridge a restriction lists for
    /// the bank to restrict there.
    pub fn to_restrict_elsewhere(&self) -> usize {
        self.participants
            .iter()
            .flatten()
            .map(|step| step.to_restrict_elsewhere.len())
            .sum()
    }
}

/// A request as answered to its filing (201 new, 200 the open one): `duplicate` when the subject
/// already had an unfinished request of this type and kind (that one is answered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FiledRequest {
    #[serde(flatten)]
    #[schema(inline)]
    pub request: GdprRequest,
    pub duplicate: bool,
}

/// A page of requests, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestPage {
    pub requests: Vec<GdprRequest>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_read_back_as_written() {
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for request_type in RequestType::ALL {
            assert_eq!(
                RequestType::parse(&request_type.as_str().to_lowercase()),
                Some(request_type)
            );
            assert_eq!(serde_json::to_value(request_type).unwrap(), request_type.as_str());
        }
        for state in StepState::ALL {
            assert_eq!(StepState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert_eq!(
            serde_json::to_value([AllowedAction::Confirm, AllowedAction::Download]).unwrap(),
            serde_json::json!(["confirm", "download"])
        );
    }

    #[test]
    fn a_restriction_is_answered_while_it_stands_and_finished_once_lifted() {
        use RequestStatus::{Lifted, Restricted, Restricting};
        assert!(Restricting.is_active() && !Restricting.is_answered());
        // Answered (never overdue), yet not finished: its subject stays for the lift.
        assert!(!Restricted.is_active() && Restricted.is_answered() && !Restricted.is_finished());
        assert!(!Lifted.is_active() && Lifted.is_finished());
        assert_eq!(
            RequestType::parse("lift_restriction"),
            Some(RequestType::LiftRestriction)
        );
        assert_eq!(serde_json::to_value(AllowedAction::Lift).unwrap(), "lift");
        assert_eq!(
            serde_json::to_value(AllowedAction::RecordVerification).unwrap(),
            "record_verification"
        );
        for method in VerificationMethod::ALL {
            assert_eq!(VerificationMethod::parse(method.as_str()), Some(method));
            assert_eq!(serde_json::to_value(method).unwrap(), method.as_str());
        }
        for language in AnswerLanguage::ALL {
            assert_eq!(AnswerLanguage::parse(&language.as_str().to_uppercase()), Some(language));
            assert_eq!(serde_json::to_value(language).unwrap(), language.as_str());
        }
    }
}
