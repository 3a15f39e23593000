//! comm-history-writer's API: communication records written one at a time or in batches
//! (result-ingest), read and listed (the console, BOFE), records nobody attributed, and the
//! customer assignments and withdrawals interaction-pairing's outbox and result-ingest post.

use domain::{CommunicationRecordId, CustomerId, InteractionId};
use serde::{Deserialize, Serialize};

pub use domain::{CommunicationRecord, NewCommunicationRecord};

/// The most entries one batch may hold.
pub const MAX_BATCH: usize = 500;

/// The query of `GET /communicationRecords`. Kept as text: the writer names a wrong parameter in
/// its 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// Records of this customer (customerId or interactionId is required).
    #[param(format = Uuid)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Records of this interaction.
    #[param(format = Uuid)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A page of records, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunicationRecordPage {
    pub items: Vec<CommunicationRecord>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Body of `POST /communicationRecords/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordBatch {
    /// 1 to 500 entries.
    pub records: Vec<RecordBatchEntry>,
}

/// One record of a batch, written once for its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordBatchEntry {
    /// As the `Idempotency-Key` header of a single write: 1 to 255 visible ASCII characters.
    pub idempotency_key: String,
    pub record: NewCommunicationRecord,
    /// How the record's `customerId` was found: `pairing` (when omitted) or `participant_data`;
    /// only with a `customerId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_source: Option<WrittenCustomerSource>,
}

/// How a record written with a customer got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WrittenCustomerSource {
    Pairing,
    ParticipantData,
}

impl From<WrittenCustomerSource> for domain::CustomerSource {
    fn from(source: WrittenCustomerSource) -> Self {
        match source {
            WrittenCustomerSource::Pairing => Self::Pairing,
            WrittenCustomerSource::ParticipantData => Self::ParticipantData,
        }
    }
}

/// What `POST /communicationRecords/batch` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordBatchResults {
    /// One result an entry, in the order of the request.
    pub results: Vec<RecordBatchResult>,
}

/// What became of one entry of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordOutcome {
    /// Stored now.
    Created,
    /// The key was used before with the same record: nothing written, the first record's id.
    Replayed,
    /// The key was used before with another record (or its record is gone): nothing written.
    Conflict,
    /// A purged GDPR forget erased what it would store (the key's record, or the customer's part
    /// in the communication): nothing written; settled, not worth retrying.
    Erased,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordBatchResult {
    pub idempotency_key: String,
    pub outcome: RecordOutcome,
    /// The record's id; on a conflict the record the key made (with other content) while it is
    /// there, null when it is gone; null on an erasure.
    pub record_id: Option<CommunicationRecordId>,
    /// Why a conflict is one (null otherwise).
    pub detail: Option<String>,
}

/// The query of `GET /communicationRecords/unassigned`. Kept as text: the writer names a wrong
/// parameter in its 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnassignedQuery {
    /// Communicated at or after this (RFC 3339).
    #[param(format = DateTime)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// … and before this (RFC 3339).
    #[param(format = DateTime)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `VOICE`, `CHAT`, `EMAIL`, `SMS`, `VIDEO` or `OTHER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A customer whose records share a handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub customer_id: CustomerId,
    /// Their records with this handle.
    pub records: i64,
    /// When the latest of them happened.
    pub last_communicated_at: domain::Timestamp,
}

/// The customers a record's handle suggests, most likely first (most records, then latest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestions {
    /// More than one customer used the handle: a guess would be a guess between people.
    pub shared: bool,
    /// How many customers used it in all.
    pub customers_of_handle: usize,
    /// Up to five of them.
    pub customers: Vec<Suggestion>,
}

/// An unassigned record and what its handle suggests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnassignedRecord {
    #[serde(flatten)]
    pub record: CommunicationRecord,
    pub suggestions: Suggestions,
}

/// A page of unassigned records, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnassignedRecordPage {
    pub items: Vec<UnassignedRecord>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// How the customer came to the interaction: paired before its result was recorded, or after,
/// or named by Genesys participant data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignedBy {
    Pairing,
    #[default]
    LatePairing,
    /// Genesys participant data named the customer (an IVR or a bot that authenticated them).
    ParticipantData,
}

/// Body of `POST /internal/customerAssignments`: the customer gets the interaction's
/// communication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Assignment {
    pub interaction_id: InteractionId,
    pub customer_id: CustomerId,
    /// `late_pairing` unless given.
    #[serde(default)]
    pub source: AssignedBy,
}

/// `PUT /communicationRecords/{id}/body` (result-ingest's content queue, scope `records:body`): what
/// was said or written in the communication, a transcript or an e-mail's text, already cut by the
/// caller (`ingest.content.max_body_chars`). Answered with [`Updated`]: the record and its copies set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordBody {
    #[schema(value_type = String)]
    pub body: domain::BoundedText<0, 100_000>,
}

/// The 409 problem kind of `PUT /communicationRecords/{id}/body` when a RESTRICT holds the record:
/// the body waits for the restriction's lift (a FORGET's hold, kind-less, is the end of it).
pub const RECORD_RESTRICTED: &str = "record-restricted";

/// Body of `POST /internal/customerWithdrawals`: a removed pairing withdraws that customer's
/// records of the interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Withdrawal {
    pub interaction_id: InteractionId,
    pub customer_id: CustomerId,
    /// Who removed the pairing (kept with the withdrawn records).
    pub withdrawn_by: domain::BoundedText<1, 256>,
}

/// What an assignment or a withdrawal answers: how many records changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Updated {
    pub updated: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_assignment_without_source_is_late() {
        let body = r#"{"interactionId":"5773eca4-0874-4617-a6e8-85591aa94609","customerId":"2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"}"#;
        let assignment: Assignment = serde_json::from_str(body).unwrap();
        assert_eq!(assignment.source, AssignedBy::LatePairing);
        let sent = serde_json::to_value(Assignment {
            source: AssignedBy::Pairing,
            ..assignment
        })
        .unwrap();
        assert_eq!(sent["source"], "pairing");
    }

    #[test]
    fn a_batch_result_without_its_outcome_is_refused() {
        assert!(
            serde_json::from_str::<RecordBatchResult>(r#"{"idempotencyKey":"k","recordId":null,"detail":null}"#)
                .is_err()
        );
        let result: RecordBatchResult =
            serde_json::from_str(r#"{"idempotencyKey":"k","outcome":"erased","recordId":null,"detail":"gone"}"#)
                .unwrap();
        assert_eq!(result.outcome, RecordOutcome::Erased);
    }
}
