//! The documented Genesys models a conversation's content is read from, holding only the fields
//! read (see `crate::models` for the rules: unknown fields ignored, an absence accepted only
//! where Genesys documents the field as optional and it has a meaning here).

use crate::models::Purpose;
use domain::Timestamp;
use serde::Deserialize;

// ---- Analytics: the conversation's communications --------------------------------------------

/// `AnalyticsConversationWithoutAttributes` (`GET /api/v2/analytics/conversations/{id}/details`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetails {
    pub conversation_id: uuid::Uuid,
    #[serde(default)]
    pub participants: Vec<DetailsParticipant>,
}

/// `AnalyticsParticipant`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsParticipant {
    pub purpose: Purpose,
    #[serde(default)]
    pub sessions: Vec<DetailsSession>,
}

/// `AnalyticsSession.mediaType`: the four that have content; the others (callback, cobrowse,
/// video, screenshare, unknown, and any new one) are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMediaType {
    Voice,
    Chat,
    Message,
    Email,
    #[serde(other)]
    Other,
}

/// `AnalyticsSession`: a communication.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsSession {
    /// The communication id; checked where a session's content is read.
    #[serde(default)]
    pub session_id: Option<uuid::Uuid>,
    /// Checked where read: a session without one is not known to have content.
    #[serde(default)]
    pub media_type: Option<SessionMediaType>,
}

// ---- Speech and Text Analytics: the transcript -----------------------------------------------

/// `TranscriptUrl` (`GET /api/v2/speechandtextanalytics/conversations/{conversationId}/
/// communications/{communicationId}/transcripturl`): a pre-signed URL, valid for ten minutes.
/// A credential of its own while valid: never logged.
#[derive(Deserialize)]
pub struct TranscriptUrl {
    pub url: reqwest::Url,
}

/// The transcript file the URL points to: not an SDK model, documented as "Transcript schema" at
/// developer.genesys.cloud (Analytics data management › Speech and text analytics › Transcript
/// URL): "the collection of transcripts associated with a communication".
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptDocument {
    /// Checked against the conversation asked for: another conversation's transcript is never
    /// passed on as this one's.
    pub conversation_id: uuid::Uuid,
    pub communication_id: uuid::Uuid,
    /// Absent when the communication had nothing transcribed.
    #[serde(default)]
    pub transcripts: Vec<Transcript>,
}

/// One transcript of the communication.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    #[serde(default)]
    pub phrases: Vec<Phrase>,
}

/// `phrases[]`: what one side said (or wrote), when.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phrase {
    pub text: String,
    pub participant_purpose: PhrasePurpose,
    /// Epoch milliseconds.
    pub start_time_ms: i64,
}

/// A phrase's side: every value names who spoke, so the set is closed (a value outside it is a
/// transcript that does not parse, never a phrase of nobody's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhrasePurpose {
    /// The organisation's side: the agent (or its IVR, its bot).
    Internal,
    /// The customer.
    External,
}

impl PhrasePurpose {
    /// The speaker a line of the flattened transcript starts with.
    pub fn speaker(self) -> &'static str {
        match self {
            Self::Internal => "agent",
            Self::External => "customer",
        }
    }
}

// ---- Conversations: e-mail messages ------------------------------------------------------

/// `EmailMessagePreviewListing` (`GET /api/v2/conversations/emails/{conversationId}/messages`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessagePreviewListing {
    /// Genesys leaves an empty list out of its answers.
    #[serde(default)]
    pub entities: Vec<EmailMessagePreview>,
    /// The next page of the listing (`/api/v2/…/messages?pageSize=…&pageNumber=…`); absent on the
    /// last. Checked before it is asked for: it comes from an answer.
    #[serde(default)]
    pub next_uri: Option<String>,
}

/// `EmailMessagePreview`: a message of the conversation, without its body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessagePreview {
    pub id: MessageId,
}

/// `EmailMessage` (`GET /api/v2/conversations/emails/{conversationId}/messages/{messageId}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    /// When it was received or sent: the messages' order.
    pub time: Timestamp,
    /// Absent on a message without a plain-text part (HTML only, which is never read).
    #[serde(default)]
    pub text_body: Option<String>,
}

/// A message id, as it goes into the next request's path: letters, digits, `-`, `_` and `.`
/// only (and not `.` or `..`), so an id from an answer can never reach another Genesys path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId(String);

impl MessageId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        let safe = !id.is_empty()
            && id.len() <= 128
            && id != "."
            && id != ".."
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if safe {
            Ok(Self(id))
        } else {
            Err(serde::de::Error::custom("not a message id"))
        }
    }
}
