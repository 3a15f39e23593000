//! A communication history record: what comm-history-writer stores and serves.

use crate::channel::Channel;
use crate::direction::Direction;
use crate::handle::CustomerHandle;
use crate::ids::{BankUserId, CommunicationRecordId, CustomerId, GenesysUserId, InteractionId};
use crate::text::BoundedText;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The business domain a record belongs to. The back office owns the list, so any upper-case
/// token (`A-Z`, `0-9`, `_`, 1 to 64 characters) is accepted; the Genesys integration writes `OTHER`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordDomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown domain: expected an upper-case token such as OTHER")]
pub struct InvalidRecordDomain;

impl RecordDomain {
    pub fn parse(input: &str) -> Result<Self, InvalidRecordDomain> {
        let valid = (1..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && input.as_bytes()[0].is_ascii_uppercase();
        valid.then(|| Self(input.to_owned())).ok_or(InvalidRecordDomain)
    }

    pub fn other() -> Self {
        Self("OTHER".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecordDomain {
    type Error = InvalidRecordDomain;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RecordDomain> for String {
    fn from(value: RecordDomain) -> Self {
        value.0
    }
}

/// Body of `POST /communicationRecords`. Nullable fields may be omitted or `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewCommunicationRecord {
    pub direction: Direction,
    pub communicated_at: Timestamp,
    pub source: BoundedText<1, 100>,
    pub channel: Channel,
    pub domain: RecordDomain,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    pub customer_handle: CustomerHandle,
    pub interaction_id: InteractionId,
    #[serde(default)]
    pub bank_user_id: Option<BankUserId>,
    #[serde(default)]
    pub bank_user_name: Option<BoundedText<1, 256>>,
    /// The Genesys user id of the agent (records from Genesys): what finds an agent's records for
    /// a GDPR request, where the name alone would not.
    #[serde(default)]
    pub genesys_user_id: Option<GenesysUserId>,
    #[serde(default)]
    pub purpose: Option<BoundedText<1, 256>>,
    pub title: BoundedText<1, 1000>,
    pub body: BoundedText<0, 100_000>,
}

/// How a record's customer was found, so the bank's auditors can tell a fact from an inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSource {
    /// Known when the record was written (BOFE paired the interaction, or the writer named it).
    Pairing,
    /// A pairing that came after the record was written.
    LatePairing,
    /// Inferred: the handle belonged to exactly this customer (`records.auto_assign_by_handle`).
    HandleMatch,
    /// Genesys participant data named it: an IVR or a bot that authenticated the caller left
    /// the customer's id in a participant attribute (`ingest.participant_data`).
    ParticipantData,
}

impl CustomerSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pairing => "pairing",
            Self::LatePairing => "late_pairing",
            Self::HandleMatch => "handle_match",
            Self::ParticipantData => "participant_data",
        }
    }

    /// A stored source; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Pairing,
            Self::LatePairing,
            Self::HandleMatch,
            Self::ParticipantData,
        ]
        .into_iter()
        .find(|source| source.as_str() == value)
    }
}

/// A stored record: the submitted attributes plus what the store assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunicationRecord {
    pub id: CommunicationRecordId,
    #[serde(flatten)]
    pub attributes: NewCommunicationRecord,
    /// How its customer was found; null while it has none.
    pub customer_source: Option<CustomerSource>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected_example() -> serde_json::Value {
        serde_json::json!({
            "direction": "INBOUND",
            "communicatedAt": "2026-11-20T09:41:07.512Z",
            "source": "Call center",
            "channel": "VOICE",
            "domain": "OTHER",
            "customerId": "2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07",
            "customerHandle": "tel:+420601123456",
            "interactionId": "5773eca4-0874-4617-a6e8-85591aa94609",
            "bankUserId": null,
            "bankUserName": "Jana Nováková",
            "genesysUserId": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
            "purpose": "Sale completed",
            "title": "Call center communication",
            "body": ""
        })
    }

    #[test]
    fn the_expected_example_record_round_trips_unchanged() {
        let record: NewCommunicationRecord = serde_json::from_value(expected_example()).unwrap();
        assert_eq!(serde_json::to_value(&record).unwrap(), expected_example());
    }

    #[test]
    fn nullable_fields_may_be_omitted() {
        let mut value = expected_example();
        let object = value.as_object_mut().unwrap();
        for field in ["customerId", "bankUserId", "bankUserName", "genesysUserId", "purpose"] {
            object.remove(field);
        }
        let record: NewCommunicationRecord = serde_json::from_value(value).unwrap();
        assert_eq!(record.customer_id, None);
        assert_eq!(record.purpose, None);
    }

    #[test]
    fn domain_tokens() {
        assert!(RecordDomain::parse("OTHER").is_ok());
        assert!(RecordDomain::parse("CARD_SERVICES").is_ok());
        for bad in ["", "other", "_X", "A B", "1ABC"] {
            assert!(RecordDomain::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_record_serialises_flat() {
        let attributes: NewCommunicationRecord = serde_json::from_value(expected_example()).unwrap();
        let record = CommunicationRecord {
            id: CommunicationRecordId::generate(),
            attributes,
            customer_source: Some(CustomerSource::LatePairing),
            created_at: Timestamp::parse("2026-11-20T09:41:08Z").unwrap(),
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["channel"], "VOICE");
        assert_eq!(value["customerSource"], "late_pairing");
        assert_eq!(value["createdAt"], "2026-11-20T09:41:08Z");
        assert!(value["id"].is_string());
    }
}
