//! A conversation's content, as Genesys holds it: the customer's communications from the
//! conversation's analytics details (one request), then per communication its Speech and Text
//! Analytics transcript (voice, message, chat: one request and one download) or, for e-mail, the
//! conversation's messages (one request a listing page, and one a message, at most
//! `content.email_max_messages`). No text is kept (only which
//! communications a conversation has): what was said is personal data, answered to result-ingest
//! alone and never logged.

mod budget;
pub mod download;
mod emails;
pub mod models;
pub mod public_dns;
pub mod settings;
pub mod text;
mod transcripts;

use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use crate::upstream::GenesysApi;
use budget::ContentBudget;
use contracts::gateway::{ContentKind, ContentMediaType, ContentPart, ConversationContent};
use download::TranscriptDownloads;
use models::{ConversationDetails, SessionMediaType};
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

const DETAILS_ENDPOINT: &str = "analytics.conversations.details";

/// A customer's communication that can have content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Communication {
    id: uuid::Uuid,
    media_type: ContentMediaType,
}

pub struct ContentSource {
    api: Arc<GenesysApi>,
    downloads: TranscriptDownloads,
    budget: ContentBudget,
    email_max_messages: std::num::NonZeroU32,
    /// A conversation's communications with content, once found (none: not kept). An ended
    /// conversation's do not change; a conversation analytics does not show yet is not kept.
    communications: Option<Cache<uuid::Uuid, Arc<[Communication]>>>,
    metrics: Arc<GatewayMetrics>,
}

impl ContentSource {
    pub fn new(
        api: Arc<GenesysApi>,
        downloads: TranscriptDownloads,
        settings: &settings::ContentSettings,
        genesys: &crate::settings::GenesysSettings,
        metrics: Arc<GatewayMetrics>,
    ) -> Self {
        let communications = (settings.communications_cache_ttl_seconds > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.communications_cache_max_entries.get())
                .time_to_live(Duration::from_secs(settings.communications_cache_ttl_seconds))
                .build()
        });
        Self {
            api,
            downloads,
            budget: ContentBudget::new(
                settings.share_of(genesys.rate_limit_per_minute),
                settings.burst_of(genesys.rate_limit_burst),
            ),
            email_max_messages: settings.email_max_messages,
            communications,
            metrics,
        }
    }

    /// The customer's communications with content, from the cache or the conversation's
    /// analytics details; `None` while analytics does not show the conversation.
    async fn communications(&self, conversation: uuid::Uuid) -> Result<Option<Arc<[Communication]>>, UpstreamError> {
        if let Some(cache) = &self.communications {
            let found = cache.get(&conversation).await;
            let result = if found.is_some() { "hit" } else { "miss" };
            self.metrics
                .cache_lookups
                .with_label_values(&["communications", result])
                .inc();
            if found.is_some() {
                return Ok(found);
            }
        }
        let path = format!("/api/v2/analytics/conversations/{conversation}/details");
        let details: ConversationDetails = match self.budget.get(&self.api, DETAILS_ENDPOINT, &path, &[]).await {
            Ok(details) => details,
            Err(UpstreamError::NotFound) => return Ok(None),
            Err(other) => return Err(other),
        };
        if details.conversation_id != conversation {
            return Err(self.api.unparsed(
                DETAILS_ENDPOINT,
                "conversationId".to_owned(),
                "the details are another conversation's",
            ));
        }
        let communications: Arc<[Communication]> = customer_communications(&details)
            .map_err(|(at, problem)| self.api.unparsed(DETAILS_ENDPOINT, at, problem))?
            .into();
        if let (Some(cache), false) = (&self.communications, communications.is_empty()) {
            cache.insert(conversation, communications.clone()).await;
        }
        Ok(Some(communications))
    }

    /// The conversation's content, or `None` while Genesys has none for it: analytics does not
    /// know the conversation yet, no communication of the customer's has content, or one of them
    /// has none yet (nothing is answered half: the caller writes what it gets once).
    pub async fn content(&self, conversation: uuid::Uuid) -> Result<Option<ConversationContent>, UpstreamError> {
        let Some(communications) = self.communications(conversation).await? else {
            return Ok(None);
        };
        if communications.is_empty() {
            return Ok(None);
        }
        let mut parts = Vec::with_capacity(communications.len());
        for &communication in communications.iter() {
            let (kind, text) = match communication.media_type {
                ContentMediaType::Email => (
                    ContentKind::Email,
                    emails::email_text(&self.api, &self.budget, self.email_max_messages, conversation).await?,
                ),
                ContentMediaType::Voice | ContentMediaType::Message | ContentMediaType::Chat => (
                    ContentKind::Transcript,
                    transcripts::transcript(
                        &self.api,
                        &self.budget,
                        &self.downloads,
                        &self.metrics,
                        conversation,
                        communication.id,
                    )
                    .await?,
                ),
            };
            let Some(text) = text else {
                return Ok(None);
            };
            parts.push(ContentPart {
                communication_id: communication.id.to_string(),
                media_type: communication.media_type,
                kind,
                text,
            });
        }
        Ok(Some(ConversationContent {
            conversation_id: conversation.to_string(),
            parts,
        }))
    }
}

/// The customer's communications that can have content, each once, in the order Genesys lists
/// them; an e-mail conversation's once (its messages are the conversation's, not a session's).
/// A customer's session of such a media type without its id is a body that does not parse
/// (`at`, `problem`), never a communication left out.
fn customer_communications(details: &ConversationDetails) -> Result<Vec<Communication>, (String, &'static str)> {
    let mut found: Vec<Communication> = Vec::new();
    for (p, participant) in details.participants.iter().enumerate() {
        if participant.purpose != crate::models::Purpose::Customer {
            continue;
        }
        for (s, session) in participant.sessions.iter().enumerate() {
            let media_type = match session.media_type {
                Some(SessionMediaType::Voice) => ContentMediaType::Voice,
                Some(SessionMediaType::Message) => ContentMediaType::Message,
                Some(SessionMediaType::Chat) => ContentMediaType::Chat,
                Some(SessionMediaType::Email) => ContentMediaType::Email,
                Some(SessionMediaType::Other) | None => continue,
            };
            let id = session.session_id.ok_or_else(|| {
                (
                    format!("participants[{p}].sessions[{s}].sessionId"),
                    "a customer's session without its id",
                )
            })?;
            let seen = found.iter().any(|known| {
                known.id == id || (media_type == ContentMediaType::Email && known.media_type == ContentMediaType::Email)
            });
            if !seen {
                found.push(Communication { id, media_type });
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{customer_communications, Communication};
    use crate::content::models::ConversationDetails;
    use contracts::gateway::ContentMediaType;
    use serde_json::json;

    const C1: &str = "5773eca4-0874-4617-a6e8-85591aa94609";
    const S1: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";
    const S2: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
    const S3: &str = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b";

    fn details(participants: serde_json::Value) -> ConversationDetails {
        serde_json::from_value(json!({ "conversationId": C1, "participants": participants })).unwrap()
    }

    #[test]
    fn the_customers_sessions_with_content_each_once() {
        let found = customer_communications(&details(json!([
            { "purpose": "ivr", "sessions": [{ "sessionId": S3, "mediaType": "voice" }] },
            { "purpose": "customer", "sessions": [
                { "sessionId": S1, "mediaType": "voice" },
                { "sessionId": S1, "mediaType": "voice" },
                { "sessionId": S2, "mediaType": "callback" },
            ]},
            { "purpose": "agent", "sessions": [{ "sessionId": S2, "mediaType": "voice" }] },
            { "purpose": "customer", "sessions": [
                { "sessionId": S2, "mediaType": "email" },
                { "sessionId": S3, "mediaType": "email" },
            ]},
        ])))
        .unwrap();
        let id = |s: &str| s.parse().unwrap();
        assert_eq!(
            found,
            [
                Communication {
                    id: id(S1),
                    media_type: ContentMediaType::Voice
                },
                Communication {
                    id: id(S2),
                    media_type: ContentMediaType::Email
                },
            ]
        );
    }

    #[test]
    fn a_customers_session_without_its_id_is_unreadable_not_left_out() {
        let unreadable = customer_communications(&details(json!([
            { "purpose": "customer", "sessions": [{ "sessionId": S1, "mediaType": "video" }, { "mediaType": "message" }] },
        ])));
        assert_eq!(
            unreadable.unwrap_err(),
            (
                "participants[0].sessions[1].sessionId".to_owned(),
                "a customer's session without its id"
            )
        );
    }
}
