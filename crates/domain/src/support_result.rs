//! The body Genesys posts to our webhook when an interaction ends.

use crate::channel::Channel;
use crate::communication_record::{NewCommunicationRecord, RecordDomain};
use crate::direction::Direction;
use crate::handle::CustomerHandle;
use crate::ids::{CustomerId, GenesysUserId, InteractionId};
use crate::text::{BoundedText, InvalidText};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// A wrap-up code as Genesys sends it: a UUID for codes an admin created, or a system code such
/// as `ININ-OUTBOUND-PREVIEW-SKIPPED`. Any non-empty code up to 256 characters.
pub type WrapupCode = BoundedText<1, 256>;

/// Body of `POST /customers/supportResult`. Every field but `subject` is required. `direction`
/// is refused unless inbound/outbound; `mediaType` is kept as sent (any non-empty text) and mapped
/// to a [`Channel`] by [`SupportResult::channel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportResult {
    pub conversation_id: InteractionId,
    pub event_time: Timestamp,
    pub direction: Direction,
    pub media_type: BoundedText<1, 64>,
    pub ani: CustomerHandle,
    #[serde(default)]
    pub subject: Option<String>,
    pub wrapup_code: WrapupCode,
    pub user_id: GenesysUserId,
}

impl SupportResult {
    pub fn channel(&self) -> Channel {
        Channel::from_genesys_media_type(self.media_type.as_str())
    }

    /// The communication record for this result, as the integration spec maps it: direction and
    /// channel by the domain mappings, `communicatedAt` = `eventTime`, `source` "Call center",
    /// `domain` OTHER, `customerHandle` = `ani`, `interactionId` = `conversationId`, `bankUserId`
    /// null, `title` = subject or "Call center communication", `body` empty. Names that Genesys
    /// could not give (a deleted agent, an unknown code) are `None`.
    pub fn to_record(
        &self,
        customer_id: Option<CustomerId>,
        bank_user_name: Option<&str>,
        purpose: Option<&str>,
    ) -> Result<NewCommunicationRecord, InvalidText> {
        let optional = |value: Option<&str>| value.map(BoundedText::parse).transpose();
        Ok(NewCommunicationRecord {
            direction: self.direction,
            communicated_at: self.event_time,
            source: BoundedText::parse("Call center")?,
            channel: self.channel(),
            domain: RecordDomain::other(),
            customer_id,
            customer_handle: self.ani.clone(),
            interaction_id: self.conversation_id,
            bank_user_id: None,
            bank_user_name: optional(bank_user_name)?,
            purpose: optional(purpose)?,
            title: self.title()?,
            body: BoundedText::parse("")?,
        })
    }

    /// The record title: the subject, or the spec's default when there is none.
    pub fn title(&self) -> Result<BoundedText<1, 1000>, InvalidText> {
        match self.subject.as_deref().map(str::trim) {
            Some(subject) if !subject.is_empty() => BoundedText::parse(subject),
            _ => BoundedText::parse("Call center communication"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOICE_INBOUND: &str = r#"{
      "conversationId": "5773eca4-0874-4617-a6e8-85591aa94609",
      "eventTime": "2026-11-20T09:41:07.512Z",
      "direction": "inbound", "mediaType": "voice", "ani": "tel:+420601123456", "subject": "",
      "wrapupCode": "1ccb1c09-9495-4034-b377-b809f58d17da",
      "userId": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    }"#;

    #[test]
    fn parses_the_voice_example() {
        let result: SupportResult = serde_json::from_str(VOICE_INBOUND).unwrap();
        assert_eq!(result.direction, Direction::Inbound);
        assert_eq!(result.channel(), Channel::Voice);
        assert_eq!(result.title().unwrap().as_str(), "Call center communication");
        assert_eq!(result.event_time.to_rfc3339(), "2026-11-20T09:41:07.512Z");
    }

    #[test]
    fn upper_case_enums_and_a_subject() {
        let body = VOICE_INBOUND
            .replace("\"inbound\"", "\"OUTBOUND\"")
            .replace("\"voice\"", "\"EMAIL\"")
            .replace("\"subject\": \"\"", "\"subject\": \"Your card replacement\"");
        let result: SupportResult = serde_json::from_str(&body).unwrap();
        assert_eq!(result.direction, Direction::Outbound);
        assert_eq!(result.channel(), Channel::Email);
        assert_eq!(result.title().unwrap().as_str(), "Your card replacement");
    }

    #[test]
    fn system_wrap_up_codes_are_accepted() {
        let body = VOICE_INBOUND.replace("1ccb1c09-9495-4034-b377-b809f58d17da", "ININ-OUTBOUND-PREVIEW-SKIPPED");
        let result: SupportResult = serde_json::from_str(&body).unwrap();
        assert_eq!(result.wrapup_code.as_str(), "ININ-OUTBOUND-PREVIEW-SKIPPED");
    }

    #[test]
    fn the_voice_example_maps_to_exactly_the_expected_record() {
        let result: SupportResult = serde_json::from_str(VOICE_INBOUND).unwrap();
        let customer = CustomerId::parse("2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07").unwrap();
        let record = result
            .to_record(Some(customer), Some("Jana Nováková"), Some("Sale completed"))
            .unwrap();
        let expected = serde_json::json!({
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
            "purpose": "Sale completed",
            "title": "Call center communication",
            "body": ""
        });
        assert_eq!(serde_json::to_value(&record).unwrap(), expected);
    }

    #[test]
    fn missing_names_and_customer_stay_null() {
        let result: SupportResult = serde_json::from_str(VOICE_INBOUND).unwrap();
        let record = result.to_record(None, None, None).unwrap();
        assert_eq!(record.customer_id, None);
        assert_eq!(record.bank_user_name, None);
        assert_eq!(record.purpose, None);
    }

    #[test]
    fn unknown_direction_is_refused() {
        let body = VOICE_INBOUND.replace("\"inbound\"", "\"sideways\"");
        assert!(serde_json::from_str::<SupportResult>(&body).is_err());
    }

    #[test]
    fn subject_may_be_missing_but_nothing_else() {
        let without_subject = VOICE_INBOUND.replace("\"subject\": \"\",", "");
        assert!(serde_json::from_str::<SupportResult>(&without_subject).is_ok());
        for field in [
            "conversationId",
            "eventTime",
            "direction",
            "mediaType",
            "ani",
            "wrapupCode",
            "userId",
        ] {
            let mut value: serde_json::Value = serde_json::from_str(VOICE_INBOUND).unwrap();
            value.as_object_mut().unwrap().remove(field);
            assert!(serde_json::from_value::<SupportResult>(value).is_err(), "{field}");
        }
    }
}
