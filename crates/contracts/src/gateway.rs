//! genesys-gateway's API: agent and wrap-up code names (`GET /users/{userId}`,
//! `GET /wrapupcodes/{codeId}`), the ended conversations result-ingest's sweep reads
//! (`GET /conversations/results`) and a conversation's content (`GET /conversations/{id}/content`). The gateway serialises these, its OpenAPI document is
//! generated from them and result-ingest deserialises them.

use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// `GET /users/{userId}`: an agent and the name Genesys gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentName {
    /// The Genesys user id.
    pub id: String,
    pub name: String,
}

/// `GET /wrapupcodes/{codeId}`: a wrap-up code and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WrapupName {
    /// The wrap-up code id (a UUID) or the Genesys system code.
    pub id: String,
    pub name: String,
}

/// The query of `GET /conversations/results`. Kept as text: the gateway names a wrong parameter
/// in its 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ConversationResultsQuery {
    /// Conversations that started at or after this (RFC 3339).
    #[param(format = DateTime)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_from: Option<String>,
    /// … and before this (RFC 3339), later than `startedFrom`.
    #[param(format = DateTime)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_before: Option<String>,
    /// The page, from 1 (default 1), of 100 conversations each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

impl ConversationResultsQuery {
    /// Page `page` (from 1) of the conversations that started in `[from, before)`.
    pub fn new(from: Timestamp, before: Timestamp, page: u32) -> Self {
        Self {
            started_from: Some(from.to_rfc3339()),
            started_before: Some(before.to_rfc3339()),
            page: Some(page.to_string()),
        }
    }
}

/// A participant attribute's name: one rule wherever one is named (result-ingest's
/// `ingest.participant_data`, the gateway's `attributes` parameter, `deploy/genesys/apply.sh`,
/// whose data action names a Velocity variable after it): a letter, then up to 99 letters,
/// digits or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeName(String);

/// A name that breaks [`AttributeName`]'s rule (the message names no value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an attribute name must be a letter, then up to 99 letters, digits or _")]
pub struct InvalidAttributeName;

impl AttributeName {
    /// The longest name.
    pub const MAX_CHARS: usize = 100;
    /// The most names one `participantData` request asks for.
    pub const MAX_PER_REQUEST: usize = 20;

    pub fn parse(name: &str) -> Result<Self, InvalidAttributeName> {
        let mut chars = name.chars();
        let starts_with_a_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_fits = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !starts_with_a_letter || !rest_fits || name.len() > Self::MAX_CHARS {
            return Err(InvalidAttributeName);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The query of `GET /conversations/{conversationId}/participantData`. Kept as text: the gateway
/// names a wrong parameter in its 422.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantDataQuery {
    /// Participant attribute names, comma-separated (1 to 20, each a letter, then up to 99
    /// letters, digits or `_`): the customer's values of these are answered, no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
}

/// The customer participant's attributes (participant data) of the names asked for, those the
/// customer has (name → text), as Genesys' conversation holds them. Personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationParticipantData {
    pub conversation_id: String,
    pub participant_data: std::collections::BTreeMap<String, String>,
}

/// One page of the conversations that started in a window, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub page: u32,
    pub page_size: u32,
    /// How many conversations the whole window holds, as Genesys counts them.
    pub total_hits: u64,
    pub conversations: Vec<EndedConversation>,
}

/// A conversation as the sweep needs it: when it started and ended, and each agent's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndedConversation {
    pub conversation_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub conversation_start: Timestamp,
    /// Absent while the conversation goes on.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub conversation_end: Option<Timestamp>,
    /// One per agent session whose wrap-up ended with a code.
    pub results: Vec<AgentResult>,
}

impl EndedConversation {
    /// Ended long enough ago (`settle`) that analytics holds all of it.
    pub fn settled(&self, now: Timestamp, settle: std::time::Duration) -> bool {
        self.conversation_end
            .is_some_and(|end| end.as_offset_date_time() + settle <= now.as_offset_date_time())
    }
}

/// An agent's result: the fields Genesys' data action would have posted to the webhook, as
/// Genesys holds them (text: the sweep checks each result as the webhook checks its body, so one
/// result the webhook would refuse is counted, not the whole page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentResult {
    pub user_id: String,
    pub wrapup_code: String,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    pub media_type: Option<String>,
    /// The customer's address: the session's `ani`, or for e-mail its sender (inbound) or
    /// recipient (outbound).
    pub ani: Option<String>,
    pub subject: Option<String>,
    /// When the wrap-up segment ended: the result's event time.
    #[schema(value_type = String, format = DateTime)]
    pub wrapup_end: Timestamp,
}

/// The kind ([`crate::problem::Problem::kind`]) of the 404 `GET /conversations/{id}/content`
/// answers while Genesys holds no content for the conversation yet (no transcript yet, no e-mail
/// text yet, not a conversation Speech and Text Analytics transcribes).
pub const CONTENT_NOT_AVAILABLE: &str = "content-not-available";

/// `GET /conversations/{conversationId}/content`: what was said or written, per communication.
/// Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationContent {
    pub conversation_id: String,
    /// One per communication of the customer's that holds content, in the order Genesys lists
    /// them; never empty (no content is the 404 `content-not-available`).
    pub parts: Vec<ContentPart>,
}

/// The content of one communication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentPart {
    /// The Genesys communication (the customer's session) the content belongs to.
    pub communication_id: String,
    pub media_type: ContentMediaType,
    pub kind: ContentKind,
    /// A transcript: one `agent: …` or `customer: …` line per phrase, in time order. An e-mail:
    /// each message's plain text (never its HTML), oldest first, separated by a blank line.
    /// Control characters are dropped except line feeds and tabs; the text is whole (the caller
    /// cuts it to its own limit).
    pub text: String,
}

/// The communication's media type (Genesys' `mediaType`), of those that have content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentMediaType {
    Voice,
    Message,
    Chat,
    Email,
}

/// Where the text comes from: a Speech and Text Analytics transcript, or an e-mail's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    Transcript,
    Email,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_page_reads_back_as_the_gateway_wrote_it() {
        let body = r#"{"page":1,"pageSize":100,"totalHits":1,"conversations":[{"conversationId":"c1",
            "conversationStart":"2026-11-28T10:00:00Z","conversationEnd":null,"results":[{"userId":"a1",
            "wrapupCode":"w1","direction":"inbound","mediaType":null,"ani":"tel:+420601123456","subject":null,
            "wrapupEnd":"2026-11-28T10:06:00Z"}]}]}"#;
        let page: ConversationPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.conversations[0].results[0].wrapup_code, "w1");
        let again: ConversationPage = serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        assert_eq!(again, page);
    }

    #[test]
    fn an_attribute_name_is_a_letter_then_letters_digits_or_underscores() {
        for good in ["bankCustomerId", "b", "pd_2", &"a".repeat(100)] {
            assert_eq!(AttributeName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "2fa", "_x", "a-b", "a,b", "a b", "a\u{1}", "č", &"a".repeat(101)] {
            assert_eq!(AttributeName::parse(bad), Err(InvalidAttributeName), "{bad:?}");
        }
    }

    #[test]
    fn content_reads_back_as_the_gateway_wrote_it() {
        let body = r#"{"conversationId":"c1","parts":[{"communicationId":"s1","mediaType":"voice",
            "kind":"transcript","text":"customer: Hello\nagent: Good morning"}]}"#;
        let content: ConversationContent = serde_json::from_str(body).unwrap();
        assert_eq!(content.parts[0].media_type, ContentMediaType::Voice);
        assert_eq!(content.parts[0].kind, ContentKind::Transcript);
        let again: ConversationContent = serde_json::from_str(&serde_json::to_string(&content).unwrap()).unwrap();
        assert_eq!(again, content);
        let unknown = body.replace("\"voice\"", "\"fax\"");
        assert!(serde_json::from_str::<ConversationContent>(&unknown).is_err());
    }

    #[test]
    fn a_page_without_its_conversations_is_refused() {
        assert!(serde_json::from_str::<ConversationPage>(r#"{"page":1,"pageSize":100,"totalHits":1}"#).is_err());
    }
}
