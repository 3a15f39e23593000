//! gdpr-orchestrator's API: filing a GDPR request (EXPORT, FORGET, UNDO_FORGET, RESTRICT,
//! LIFT_RESTRICTION, RECTIFY), the request as answered (status, counts, deadlines, what may happen next),
//! the DPO's decisions on it (confirm, extend, undo, lift), and what is collected from it (the
//! export bundle, the audit trail).
//!
//! The orchestrator's routes take and return these types and its OpenAPI document is generated
//! from them; the console and the `gdpr` command deserialise the same types. A request as served
//! never holds the subject.

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

/// How the requester's identity was verified before their data is handed over or erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    /// In a branch, against an identity card or passport.
    InPersonIdDocument,
    /// Through the bank's online banking, signed in with its strong customer authentication.
    OnlineBankingLogin,
    /// A request signed with a qualified electronic signature (eIDAS).
    QualifiedElectronicSignature,
    /// A letter with an officially verified signature.
    SignedLetter,
    /// A video call against an identity document.
    VideoCall,
}

impl VerificationMethod {
    pub const ALL: [Self; 5] = [
        Self::InPersonIdDocument,
        Self::OnlineBankingLogin,
        Self::QualifiedElectronicSignature,
        Self::SignedLetter,
        Self::VideoCall,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InPersonIdDocument => "in_person_id_document",
            Self::OnlineBankingLogin => "online_banking_login",
            Self::QualifiedElectronicSignature => "qualified_electronic_signature",
            Self::SignedLetter => "signed_letter",
            Self::VideoCall => "video_call",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == value)
    }
}

/// The language of the answer a subject reads (the readable page in an export's bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerLanguage {
    Cs,
    En,
}

impl AnswerLanguage {
    pub const ALL: [Self; 2] = [Self::Cs, Self::En];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cs => "cs",
            Self::En => "en",
        }
    }

    /// A client's spelling (any letter case).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// `POST /gdpr/requests/{id}/verification`: how the requester's identity was verified. Recorded
/// once, by a person the identity provider signed in (never a name a header gave).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordVerification {
    /// in_person_id_document, online_banking_login, qualified_electronic_signature,
    /// signed_letter or video_call (anything else is refused naming `/method`).
    pub method: String,
    /// Where the evidence is kept in the bank's records: a document or case id (letters,
    /// digits and `-_./:#`, 3 to 100 characters). Never the evidence itself: an identity
    /// document's number, an e-mail address or a phone number is refused.
    pub evidence_reference: String,
}

/// How the requester's identity was verified, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequesterVerification {
    pub method: VerificationMethod,
    /// Null once the request's identifiers are erased (it points to the subject's records).
    pub evidence_reference: Option<String>,
    /// The person who recorded it: their subject at the identity provider, which signed them in.
    pub verified_by: String,
    /// Their display name, as the identity provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by_name: Option<String>,
    /// The client they came through.
    pub verified_via: String,
    pub verified_at: Timestamp,
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

/// A RECTIFY's `replacement` as a client names it: raw values, read at the door (phone numbers
/// with `handles.default_region`); every problem names its field
/// (`/replacement/phoneNumbers/0/to`), never its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementInput {
    /// Each `from` is one of the subject's `phoneNumbers`; `to` is another phone number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<HandleReplacementInput>,
    /// Each `from` is one of the subject's `emailAddresses`; `to` is another address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<HandleReplacementInput>,
    /// Interactions attributed to the subject's customer (`subject.customerIds`) that belong to
    /// customer `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerCorrectionInput>,
}

/// One value replaced by another (personal data: its `Debug` says nothing of them).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandleReplacementInput {
    pub from: String,
    pub to: String,
}

impl std::fmt::Debug for HandleReplacementInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleReplacementInput(<redacted>)")
    }
}

/// Interactions (their ids) that belong to customer `to`, not to the subject's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerCorrectionInput {
    pub interaction_ids: Vec<String>,
    pub to: String,
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
    pub phase: String,
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
    pub updated_at: Timestamp,
}

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

/// An audit entry as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub request_id: Uuid,
    pub at: Timestamp,
    /// The person's subject at the identity provider (or the client acting as itself, or
    /// `orchestrator` for its own work).
    pub actor: String,
    /// The person's display name, as the identity provider gives it (null for a client acting as
    /// itself, and before it was recorded).
    pub actor_name: Option<String>,
    /// The client the person came through (null before it was recorded).
    pub caller: Option<String>,
    pub event: String,
    /// What the event changed (states, counts, dates; never an identifier). Its fields differ by
    /// event and by when it was written: the audit log is append-only, so old entries keep their
    /// shape.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// `GET /gdpr/requests/{id}/audit`: a request's audit log, and whether its chain is intact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTrail {
    pub entries: Vec<AuditEntry>,
    /// Every entry's link matches its content and the entry before it.
    pub chain_verified: bool,
    /// The last entry's link: record it elsewhere to detect a truncated log later.
    pub head: Option<String>,
}

/// One file of the export bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// `<participant>/<category>.json`.
    pub path: String,
    pub participant: String,
    pub category: String,
    pub count: usize,
    /// SHA-256 (hex) over the file's bytes: the JSON array, pretty-printed.
    pub sha256: String,
}

/// What the bundle holds, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub request_id: Uuid,
    pub reference: Option<String>,
    pub received_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub generated_at: Timestamp,
    pub format: String,
    pub files: Vec<ManifestFile>,
    /// Where Genesys Cloud put its own export of the subject.
    pub genesys_cloud_results: Vec<String>,
    /// The answer a person reads ([`Bundle::answer`]).
    pub answer: ManifestAnswer,
}

/// The bundle's answer a person reads: where it goes in a bundle's files, its language, and its
/// checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestAnswer {
    /// `answer.<language>.html`.
    pub path: String,
    pub language: AnswerLanguage,
    /// SHA-256 (hex) over the page's UTF-8 bytes.
    pub sha256: String,
}

/// `GET /gdpr/requests/{id}/export`: the export bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bundle {
    pub manifest: Manifest,
    /// participant → category → the subject's data (JSON arrays, as each participant holds it).
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, BTreeMap<String, Vec<serde_json::Value>>>,
    /// The answer the subject reads: one self-contained HTML page (no scripts, nothing loaded
    /// from elsewhere) in the request's language — what ccbridge holds of them per category with
    /// dates, what was left out and why, and where else copies went. It holds their data: it is
    /// handed over only as the bundle is.
    pub answer: String,
}

/// `GET /gdpr/requests/{id}/answer`: the answer the subject reads, alone — what a DPO looks at
/// before handing the bundle over (audited as `answer_viewed`, not as the bundle's download).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectAnswer {
    /// As the bundle's manifest names it: path, language and checksum.
    pub answer: ManifestAnswer,
    /// The page ([`Bundle::answer`]).
    pub page: String,
}

impl SubjectAnswer {
    /// The page, checked against its checksum (an error names the path, never the content).
    pub fn verified_page(&self) -> Result<&str, String> {
        verified_page(&self.answer, &self.page)
    }
}

fn verified_page<'a>(answer: &ManifestAnswer, page: &'a str) -> Result<&'a str, String> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(page.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != answer.sha256 {
        return Err(format!("{}: checksum does not match the manifest", answer.path));
    }
    Ok(page)
}

impl Bundle {
    /// The answer's page, checked against the manifest's checksum (an error names the path,
    /// never the content).
    pub fn verified_answer(&self) -> Result<&str, String> {
        verified_page(&self.manifest.answer, &self.answer)
    }

    /// Each file the manifest lists, with the exact bytes its checksum covers (the JSON array at
    /// `data.<participant>.<category>`, pretty-printed), each checked against the manifest: a
    /// file missing from the data or whose bytes do not match is an error naming the
    /// participant and category, never the data.
    pub fn verified_files(&self) -> Result<Vec<(&ManifestFile, Vec<u8>)>, String> {
        use sha2::Digest as _;
        self.manifest
            .files
            .iter()
            .map(|file| {
                let (participant, category) = (&file.participant, &file.category);
                let items = self
                    .data
                    .get(participant)
                    .and_then(|categories| categories.get(category))
                    .ok_or_else(|| format!("{participant}/{category}: listed in the manifest but not in the bundle"))?;
                let bytes = serde_json::to_vec_pretty(items)
                    .map_err(|_| format!("{participant}/{category}: could not be written out"))?;
                let digest = sha2::Sha256::digest(&bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                if hex != file.sha256 {
                    return Err(format!(
                        "{participant}/{category}: checksum does not match the manifest"
                    ));
                }
                Ok((file, bytes))
            })
            .collect()
    }
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

    fn hex_of(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_bundle_answers_each_file_checked_against_its_manifest() {
        use sha2::Digest as _;
        let items = vec![serde_json::json!({ "id": 1 })];
        let bytes = serde_json::to_vec_pretty(&items).unwrap();
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let at = Timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let mut bundle = Bundle {
            manifest: Manifest {
                request_id: Uuid::nil(),
                reference: None,
                received_at: at,
                completed_at: Some(at),
                generated_at: at,
                format: "f".to_owned(),
                files: vec![ManifestFile {
                    path: "p/c.json".to_owned(),
                    participant: "p".to_owned(),
                    category: "c".to_owned(),
                    count: 1,
                    sha256,
                }],
                genesys_cloud_results: Vec::new(),
                answer: ManifestAnswer {
                    path: "answer.en.html".to_owned(),
                    language: AnswerLanguage::En,
                    sha256: hex_of(b"<p>answer</p>"),
                },
            },
            data: [("p".to_owned(), [("c".to_owned(), items)].into())].into(),
            answer: "<p>answer</p>".to_owned(),
        };
        assert_eq!(bundle.verified_answer().unwrap(), "<p>answer</p>");
        bundle.answer.push(' ');
        assert_eq!(
            bundle.verified_answer().unwrap_err(),
            "answer.en.html: checksum does not match the manifest"
        );
        let files = bundle.verified_files().unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].1, bytes);
        bundle.data.get_mut("p").unwrap().get_mut("c").unwrap()[0] = serde_json::json!({ "id": 2 });
        assert_eq!(
            bundle.verified_files().unwrap_err(),
            "p/c: checksum does not match the manifest"
        );
        bundle.data.clear();
        assert!(bundle.verified_files().unwrap_err().contains("not in the bundle"));
    }
}
