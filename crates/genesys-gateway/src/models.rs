//! Genesys Cloud's documented models (the Platform API's, as the official SDK names them), holding
//! only the fields the gateway reads. Every answer is deserialised into one of these by
//! [`crate::body::parse`]; a body that does not fit is counted and logged by field path, never
//! read as a default. Unknown fields are ignored (Genesys adds fields all the time); a field's
//! absence is only accepted where Genesys documents it as optional and we have a meaning for it.
//!
//! Enumerations: the SDK reads a value outside a field's documented set as
//! `outdated_sdk_version`, so Genesys' enumerations may grow. Where we only pick one or two
//! values out of a long set (a participant's purpose, a segment's type), the rest and any new
//! value are `Other`, which is never read as one of the values we pick. Where every value has a
//! meaning for us (a GDPR request's status, a direction), the set is closed: a value outside it
//! is a body that does not parse.

use domain::Timestamp;
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

/// A text Genesys documents as required and meaningful (a name): blank is no name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank(String);

impl NonBlank {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<'de> Deserialize<'de> for NonBlank {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().is_empty() {
            return Err(D::Error::custom("is blank"));
        }
        Ok(Self(text))
    }
}

// ---- OAuth -------------------------------------------------------------------------------

/// The client-credentials grant's answer (the Go SDK's `AuthResponse`; snake_case, as OAuth).
#[derive(Debug, Deserialize)]
pub struct AuthResponse {
    pub access_token: String,
    /// Seconds.
    pub expires_in: u64,
}

/// `ErrorBody`: Genesys' error answer; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
}

// ---- Users and wrap-up codes ---------------------------------------------------------------

/// `User` (`GET /api/v2/users/{userId}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: NonBlank,
}

/// `WrapupCode` (`GET /api/v2/routing/wrapupcodes/{codeId}`); `name` is required.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapupCode {
    pub name: NonBlank,
}

// ---- GDPR ----------------------------------------------------------------------------------

/// `GDPRRequest.requestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GdprRequestType {
    GdprExport,
    GdprUpdate,
    GdprDelete,
}

/// `GDPRSubject`, the identifiers we send.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprSubject {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The body of `POST /api/v2/gdpr/requests` (a `GDPRRequest` with what a caller sets).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGdprRequest {
    pub request_type: GdprRequestType,
    pub subject: GdprSubject,
    /// A GDPR_UPDATE's only (Genesys refuses them on other types: 400 "Invalid data").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replacement_terms: Vec<ReplacementTerm>,
}

/// `ReplacementTerm.type`: the kinds of identifier ccbridge replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplacementType {
    Phone,
    Email,
}

/// `ReplacementTerm`: a GDPR_UPDATE replaces `existing_value` by `updated_value`. Personal data.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplacementTerm {
    #[serde(rename = "type")]
    pub term_type: ReplacementType,
    pub existing_value: String,
    pub updated_value: String,
}

impl std::fmt::Debug for ReplacementTerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplacementTerm({:?}, <redacted>)", self.term_type)
    }
}

/// `GDPRRequest.status`: every value decides what we report, so the set is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GdprRequestStatus {
    Initiated,
    Searching,
    Updating,
    Deleting,
    Finalizing,
    Completed,
    Error,
}

/// `GDPRRequest`, as `POST /api/v2/gdpr/requests` and `GET /api/v2/gdpr/requests/{id}` answer it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprRequest {
    pub id: uuid::Uuid,
    pub status: GdprRequestStatus,
    /// Set once an export is done.
    #[serde(default)]
    pub results_url: Option<String>,
}

/// `GDPRSubjectEntityListing` (`GET /api/v2/gdpr/subjects`): we count the subjects found, and
/// tell the request's subject from other people by their identifiers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprSubjectEntityListing {
    /// Genesys leaves an empty list out of its answers.
    #[serde(default)]
    pub entities: Vec<FoundGdprSubject>,
}

/// A `GDPRSubject` a search found: the numbers and addresses we compare with the request's
/// subject, and the fields that tell one Genesys person from another (a user, an external
/// contact, a dialer contact, a journey customer, an external id, a name), compared with each
/// other only ([`FoundGdprSubject::identity`]). Personal data: never logged.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundGdprSubject {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    #[serde(default)]
    pub email_addresses: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub external_contact_id: Option<String>,
    #[serde(default)]
    pub dialer_contact_id: Option<DialerContactId>,
    #[serde(default)]
    pub journey_customer: Option<JourneyCustomer>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `DialerContactId`: a contact of an outbound campaign's contact list.
#[derive(Default, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DialerContactId {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub contact_list_id: Option<String>,
}

/// `GDPRJourneyCustomer`: a customer known to Genesys' journey tracking.
#[derive(Default, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCustomer {
    #[serde(default, rename = "type")]
    pub id_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// Who a found Genesys subject is, as Genesys tells people apart (every identity field it
/// carries); two that differ are two people. Personal data: never logged.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GenesysIdentity {
    user_id: Option<String>,
    external_contact_id: Option<String>,
    dialer_contact_id: Option<DialerContactId>,
    journey_customer: Option<JourneyCustomer>,
    external_id: Option<String>,
    name: Option<String>,
}

impl FoundGdprSubject {
    /// Its identity, or None when it carries no identity field (only numbers and addresses:
    /// nothing tells it from the value itself). Ids compare case-insensitively, a name as
    /// Genesys holds it.
    pub fn identity(&self) -> Option<GenesysIdentity> {
        let lower = |id: &Option<String>| id.as_deref().map(str::to_ascii_lowercase);
        let identity = GenesysIdentity {
            user_id: lower(&self.user_id),
            external_contact_id: lower(&self.external_contact_id),
            dialer_contact_id: self.dialer_contact_id.clone(),
            journey_customer: self.journey_customer.clone(),
            external_id: self.external_id.clone(),
            name: self.name.clone(),
        };
        let none = identity.user_id.is_none()
            && identity.external_contact_id.is_none()
            && identity.dialer_contact_id.is_none()
            && identity.journey_customer.is_none()
            && identity.external_id.is_none()
            && identity.name.is_none();
        (!none).then_some(identity)
    }
}

impl std::fmt::Debug for FoundGdprSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FoundGdprSubject(<redacted>)")
    }
}

// ---- Analytics conversation detail query ----------------------------------------------------

/// `ConversationQuery`'s paging.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PagingSpec {
    pub page_size: u32,
    pub page_number: u32,
}

/// `ConversationQuery.order`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
}

/// `ConversationQuery.orderBy`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderBy {
    ConversationStart,
}

/// `ConversationQuery`: the body of `POST /api/v2/analytics/conversations/details/query`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    /// ISO-8601 `start/end`.
    pub interval: String,
    pub order: SortOrder,
    pub order_by: OrderBy,
    pub paging: PagingSpec,
}

/// `AnalyticsConversationQueryResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversationQueryResponse {
    /// Genesys leaves the list out when no conversation matched.
    #[serde(default)]
    pub conversations: Vec<AnalyticsConversation>,
    pub total_hits: u64,
}

/// `inbound` or `outbound` (`AnalyticsConversation.originatingDirection`,
/// `AnalyticsSession.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// `AnalyticsConversation` (`AnalyticsConversationWithoutAttributes` in the query's answer).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConversation {
    pub conversation_id: uuid::Uuid,
    pub conversation_start: Timestamp,
    /// Absent while the conversation goes on; a value that is no timestamp does not parse (it is
    /// never read as "still going on").
    #[serde(default)]
    pub conversation_end: Option<Timestamp>,
    #[serde(default)]
    pub originating_direction: Option<Direction>,
    #[serde(default)]
    pub participants: Vec<AnalyticsParticipant>,
}

/// A participant's purpose (`AnalyticsParticipant.purpose`, `Participant.purpose`): the two we
/// read; the 17 other documented purposes and any new one are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Agent,
    Customer,
    #[serde(other)]
    Other,
}

/// `AnalyticsParticipant`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsParticipant {
    pub purpose: Purpose,
    /// Set on agents (and users); checked where an agent's result is read.
    #[serde(default)]
    pub user_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub sessions: Vec<AnalyticsSession>,
}

/// `Conversation` (`GET /api/v2/conversations/{conversationId}`), the part read: its participants.
/// (The analytics detail query's participants carry no attributes: the SDK types them
/// `AnalyticsParticipantWithoutAttributes`.)
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Checked against the id asked for: another conversation's answer is off-contract.
    pub id: uuid::Uuid,
    #[serde(default)]
    pub participants: Vec<Participant>,
}

/// `Participant` of a `Conversation`: its purpose (`customer`, `agent`, `ivr`, …) and its
/// attributes (participant data, `dict(str, str)`: what an IVR, a bot or a flow set on it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(default)]
    pub purpose: Option<Purpose>,
    #[serde(default)]
    pub attributes: Attributes,
}

/// A participant's attributes. Personal data: `Debug` shows the names only.
#[derive(Default, Deserialize)]
pub struct Attributes(pub std::collections::BTreeMap<String, String>);

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `AnalyticsSession`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSession {
    /// `voice`, `email`, … passed on as Genesys wrote it (we do not branch on it).
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub ani: Option<String>,
    #[serde(default)]
    pub address_from: Option<String>,
    #[serde(default)]
    pub address_to: Option<String>,
    #[serde(default)]
    pub segments: Vec<AnalyticsSegment>,
}

/// `AnalyticsConversationSegment.segmentType`: the wrap-up we read; the 21 other documented
/// types and any new one are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentType {
    Wrapup,
    #[serde(other)]
    Other,
}

/// `AnalyticsConversationSegment`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSegment {
    pub segment_type: SegmentType,
    /// Absent while the segment goes on.
    #[serde(default)]
    pub segment_end: Option<Timestamp>,
    #[serde(default)]
    pub wrap_up_code: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}
