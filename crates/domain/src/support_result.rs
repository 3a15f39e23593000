//! The body Genesys posts to our webhook when an interaction ends.

use crate::channel::Channel;
use crate::communication_record::{NewCommunicationRecord, RecordDomain};
use crate::direction::Direction;
use crate::handle::CustomerHandle;
use crate::ids::{CustomerId, GenesysUserId, InteractionId};
use crate::text::{BoundedText, InvalidText};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A wrap-up code as Genesys sends it: a UUID for codes an admin created, or a system code such
/// as `ININ-OUTBOUND-PREVIEW-SKIPPED`. Any non-empty code up to 256 characters.
pub type WrapupCode = BoundedText<1, 256>;

/// A record's title: 1 to 1,000 characters.
pub type RecordTitle = BoundedText<1, 1000>;

/// Body of `POST /customers/supportResult`. Every field but `subject` is required. `direction`
/// is refused unless inbound/outbound; `mediaType` is kept as sent (up to 64 characters, empty
/// allowed) and mapped to a [`Channel`] by [`SupportResult::channel`]. Whatever is accepted can
/// become a record: `subject` is made to fit the record's title here, at the door
/// ([`BoundedText::fitting`]: control characters dropped, cut to 1,000 characters with `…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportResult {
    pub conversation_id: InteractionId,
    /// RFC 3339, or (as Genesys' after-call-work event carries it) epoch milliseconds, a number
    /// or a string of digits.
    #[serde(deserialize_with = "event_time")]
    #[schema(value_type = String)]
    pub event_time: Timestamp,
    pub direction: Direction,
    pub media_type: BoundedText<0, 64>,
    pub ani: CustomerHandle,
    #[serde(default, deserialize_with = "fitted_title")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<RecordTitle>,
    pub wrapup_code: WrapupCode,
    pub user_id: GenesysUserId,
    /// Genesys participant attributes the data action passed on (name → text): those the
    /// service is configured to read are kept, the others dropped at the door.
    #[serde(
        default,
        deserialize_with = "participant_data",
        skip_serializing_if = "ParticipantData::is_empty"
    )]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub participant_data: ParticipantData,
}

/// Participant attributes as Genesys holds them (`attributes`, text to text), bounded: at most
/// [`ParticipantData::MAX_ATTRIBUTES`] of them, names of 1 to [`ParticipantData::MAX_NAME`]
/// characters, values of up to [`ParticipantData::MAX_VALUE`]. Personal data: the values never
/// reach a log.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParticipantData(BTreeMap<String, String>);

/// Participant data over its bounds: what is wrong, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidParticipantData {
    #[error("at most {} attributes", ParticipantData::MAX_ATTRIBUTES)]
    TooMany,
    #[error("an attribute name must be 1 to {} characters", ParticipantData::MAX_NAME)]
    Name,
    #[error("an attribute value must be at most {} characters", ParticipantData::MAX_VALUE)]
    Value,
}

impl ParticipantData {
    pub const MAX_ATTRIBUTES: usize = 100;
    pub const MAX_NAME: usize = 256;
    pub const MAX_VALUE: usize = 4096;

    pub fn new(attributes: BTreeMap<String, String>) -> Result<Self, InvalidParticipantData> {
        if attributes.len() > Self::MAX_ATTRIBUTES {
            return Err(InvalidParticipantData::TooMany);
        }
        for (name, value) in &attributes {
            if name.is_empty() || name.chars().count() > Self::MAX_NAME {
                return Err(InvalidParticipantData::Name);
            }
            if value.chars().count() > Self::MAX_VALUE {
                return Err(InvalidParticipantData::Value);
            }
        }
        Ok(Self(attributes))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The attribute's value, if it was sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Only the attributes `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|name, value| keep(name, value));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

/// The names only: the values are personal data.
impl std::fmt::Debug for ParticipantData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `participantData`: an object of texts, or `null` / missing for none.
fn participant_data<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<ParticipantData, D::Error> {
    let attributes: Option<BTreeMap<String, String>> = Option::deserialize(deserializer)?;
    ParticipantData::new(attributes.unwrap_or_default()).map_err(serde::de::Error::custom)
}

/// `eventTime`: RFC 3339 text, or epoch milliseconds as a number or a string of digits (what a
/// Genesys data action template renders from the event's `eventTime`).
fn event_time<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Sent {
        Text(String),
        Millis(i64),
    }
    const EXPECTED: &str =
        "not a valid timestamp: expected RFC 3339 such as 2026-11-20T09:41:07.512Z, or epoch milliseconds";
    let millis = match Sent::deserialize(deserializer).map_err(|_| D::Error::custom(EXPECTED))? {
        Sent::Millis(millis) => millis,
        Sent::Text(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().map_err(|_| D::Error::custom(EXPECTED))?
        }
        Sent::Text(text) => return Timestamp::parse(&text).map_err(|_| D::Error::custom(EXPECTED)),
    };
    Timestamp::from_unix_millis(millis).ok_or_else(|| D::Error::custom(EXPECTED))
}

/// `subject` as it will stand in the title: `None` when missing, `null` or nothing printable.
fn fitted_title<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<RecordTitle>, D::Error> {
    let subject: Option<String> = Option::deserialize(deserializer)?;
    Ok(subject.as_deref().and_then(RecordTitle::fitting))
}

impl SupportResult {
    pub fn channel(&self) -> Channel {
        Channel::from_genesys_media_type(self.media_type.as_str())
    }

    /// The communication record for this result, as the integration spec maps it: direction and
    /// channel by the domain mappings, `communicatedAt` = `eventTime`, `source` "Call center",
    /// `domain` OTHER, `customerHandle` = `ani`, `interactionId` = `conversationId`, `bankUserId`
    /// null, `title` = subject or "Call center communication", `body` empty, `genesysUserId` =
    /// `userId`. Names that Genesys could not give (a deleted agent, an unknown code) are `None`;
    /// names are made to fit their fields. `agent` is `None` for an agent a GDPR forget hides: the
    /// record then names no agent at all.
    pub fn to_record(
        &self,
        customer_id: Option<CustomerId>,
        agent: Option<AgentOnRecord<'_>>,
        purpose: Option<&str>,
    ) -> Result<NewCommunicationRecord, InvalidText> {
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
            bank_user_name: agent.and_then(|agent| agent.name).and_then(BoundedText::fitting),
            genesys_user_id: agent.map(|agent| agent.user_id),
            purpose: purpose.and_then(BoundedText::fitting),
            title: self.title()?,
            body: BoundedText::parse("")?,
        })
    }

    /// The record title: the subject, or the spec's default when there is none.
    pub fn title(&self) -> Result<RecordTitle, InvalidText> {
        match &self.subject {
            Some(subject) => Ok(subject.clone()),
            None => BoundedText::parse("Call center communication"),
        }
    }
}

/// The agent as a record names them: the Genesys user id, and the name Genesys gave (if any).
#[derive(Debug, Clone, Copy)]
pub struct AgentOnRecord<'a> {
    pub user_id: GenesysUserId,
    pub name: Option<&'a str>,
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
    fn event_time_may_be_epoch_milliseconds_as_the_acw_event_carries_it() {
        let expected = Timestamp::parse("2026-11-20T09:41:07.512Z").unwrap();
        for sent in [r#""1795167667512""#, "1795167667512", r#""2026-11-20T09:41:07.512Z""#] {
            let body = VOICE_INBOUND.replace(r#""2026-11-20T09:41:07.512Z""#, sent);
            let parsed: SupportResult = serde_json::from_str(&body).unwrap();
            assert_eq!(parsed.event_time, expected, "{sent}");
        }
        for refused in [r#""""#, r#""17636x""#, "-99999999999999999", r#""yesterday""#, "1.5"] {
            let body = VOICE_INBOUND.replace(r#""2026-11-20T09:41:07.512Z""#, refused);
            let error = serde_json::from_str::<SupportResult>(&body).unwrap_err().to_string();
            assert!(error.contains("epoch milliseconds"), "{refused}: {error}");
        }
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
        let agent = AgentOnRecord {
            user_id: result.user_id,
            name: Some("Jana Nováková"),
        };
        let record = result
            .to_record(Some(customer), Some(agent), Some("Sale completed"))
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
            "genesysUserId": "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
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
    fn a_hidden_agent_leaves_no_trace_and_names_are_made_to_fit() {
        let result: SupportResult = serde_json::from_str(VOICE_INBOUND).unwrap();
        let record = result.to_record(None, None, Some("Sale completed")).unwrap();
        assert_eq!(record.genesys_user_id, None);
        assert_eq!(record.bank_user_name, None);
        let long = "N".repeat(300);
        let agent = AgentOnRecord {
            user_id: result.user_id,
            name: Some(&long),
        };
        let record = result.to_record(None, Some(agent), Some("a\u{0}b")).unwrap();
        assert_eq!(record.bank_user_name.unwrap().as_str().chars().count(), 256);
        assert_eq!(record.purpose.unwrap().as_str(), "ab");
    }

    #[test]
    fn a_subject_is_made_to_fit_the_title_at_the_door() {
        let mut value: serde_json::Value = serde_json::from_str(VOICE_INBOUND).unwrap();
        value["subject"] = serde_json::json!(format!("{}\u{0}\u{1b}", "Ž".repeat(1500)));
        let result: SupportResult = serde_json::from_value(value.clone()).unwrap();
        let title = result.title().unwrap();
        assert_eq!(title.as_str().chars().count(), 1000);
        assert!(title.as_str().ends_with(crate::text::CUT_MARK));
        // What is stored is what was fitted: reading it back changes nothing.
        let stored = serde_json::to_string(&result).unwrap();
        assert_eq!(serde_json::from_str::<SupportResult>(&stored).unwrap(), result);
        for nothing in [serde_json::json!(null), serde_json::json!("\u{0} \u{7}")] {
            value["subject"] = nothing;
            let result: SupportResult = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(result.title().unwrap().as_str(), "Call center communication");
        }
    }

    #[test]
    fn an_empty_media_type_is_other() {
        let body = VOICE_INBOUND.replace("\"voice\"", "\"\"");
        let result: SupportResult = serde_json::from_str(&body).unwrap();
        assert_eq!(result.channel(), Channel::Other);
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
