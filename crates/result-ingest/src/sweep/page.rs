//! A page of ended conversations as genesys-gateway answers it (`GET /conversations/results`),
//! and each agent's result as the webhook would have delivered it.

use domain::{SupportResult, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

/// Conversations a full page holds; a shorter page is the window's last.
pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    /// How many conversations the query's whole window holds.
    pub total_hits: u64,
    pub conversations: Vec<EndedConversation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndedConversation {
    pub conversation_id: String,
    pub conversation_start: Timestamp,
    pub conversation_end: Option<Timestamp>,
    /// Each agent's result, as the gateway read it; checked like a webhook body by [`support_result`].
    pub results: Vec<Value>,
}

impl EndedConversation {
    /// Ended long enough ago (`settle`) that analytics holds all of it.
    pub fn settled(&self, now: Timestamp, settle: std::time::Duration) -> bool {
        self.conversation_end
            .is_some_and(|end| end.as_offset_date_time() + settle <= now.as_offset_date_time())
    }
}

/// The result the webhook would have delivered for one agent: the same body, with the wrap-up's
/// end as its event time, checked by the same rules (an error names the field, never its value).
pub fn support_result(conversation: &EndedConversation, agent: &Value) -> Result<SupportResult, String> {
    let body = json!({
        "conversationId": conversation.conversation_id,
        "eventTime": agent.get("wrapupEnd"),
        "direction": agent.get("direction"),
        "mediaType": agent.get("mediaType"),
        "ani": agent.get("ani"),
        "subject": agent.get("subject"),
        "wrapupCode": agent.get("wrapupCode"),
        "userId": agent.get("userId"),
    });
    service_kit::extract::parse_json::<SupportResult>(body.to_string().as_bytes()).map_err(|error| match error {
        service_kit::problem::ApiError::Validation(problems) => problems
            .iter()
            .map(|p| format!("{} {}", p.pointer.as_deref().unwrap_or("/"), p.detail))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}
