//! A page of ended conversations as genesys-gateway answers it (`GET /conversations/results`,
//! the gateway's contract), and each agent's result as the webhook would have delivered it.

pub use contracts::gateway::{AgentResult, ConversationPage, EndedConversation};
use domain::SupportResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// Conversations a full page holds; a shorter page is the window's last.
pub const PAGE_SIZE: usize = 100;

/// The webhook's body, made of an agent's result: checked by the webhook's own parser, so a
/// result the webhook would refuse is refused here too, naming the same field.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    conversation_id: &'a str,
    event_time: domain::Timestamp,
    direction: Option<&'a str>,
    media_type: Option<&'a str>,
    ani: Option<&'a str>,
    subject: Option<&'a str>,
    wrapup_code: &'a str,
    user_id: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    participant_data: &'a BTreeMap<String, String>,
}

/// The result the webhook would have delivered for one agent: the same body, with the wrap-up's
/// end as its event time and the customer participant's attributes the workflow would have read
/// (`participant_data`), checked by the same rules (an error names the field, never its value).
pub fn support_result(
    conversation: &EndedConversation,
    agent: &AgentResult,
    participant_data: &BTreeMap<String, String>,
) -> Result<SupportResult, String> {
    let body = WebhookBody {
        conversation_id: &conversation.conversation_id,
        event_time: agent.wrapup_end,
        direction: agent.direction.as_deref(),
        media_type: agent.media_type.as_deref(),
        ani: agent.ani.as_deref(),
        subject: agent.subject.as_deref(),
        wrapup_code: &agent.wrapup_code,
        user_id: &agent.user_id,
        participant_data,
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    service_kit::extract::parse_json::<SupportResult>(&bytes).map_err(|error| match error {
        service_kit::problem::ApiError::Validation(problems) => problems
            .iter()
            .map(|p| format!("{} {}", p.pointer.as_deref().unwrap_or("/"), p.detail))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}
