//! Ended conversations and their agents' results, from Genesys' analytics conversation detail
//! query (`docs/genesys/api-facts.md` §9): what result-ingest's sweep compares with what the
//! webhook delivered. One Genesys request a page, answered as it came: the sweep paces itself,
//! retries and counts what it spends, so this does not retry on its behalf.

use crate::error::UpstreamError;
use crate::upstream::GenesysApi;
use domain::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

/// Conversations per detail query page: the documented maximum.
pub const PAGE_SIZE: u32 = 100;

/// One page of the conversations that started in a window, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub page: u32,
    pub page_size: u32,
    /// How many conversations the whole window holds, as Genesys counts them.
    pub total_hits: u64,
    pub conversations: Vec<EndedConversation>,
}

/// A conversation as the sweep needs it: when it started and ended, and each agent's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// An agent's result: the fields Genesys' data action would have posted to the webhook.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// Page `page` (from 1) of the conversations that started in `[from, before)`, oldest first.
pub async fn page(
    api: &GenesysApi,
    from: Timestamp,
    before: Timestamp,
    page: u32,
) -> Result<ConversationPage, UpstreamError> {
    let query = json!({
        "interval": format!("{from}/{before}"),
        "order": "asc",
        "orderBy": "conversationStart",
        "paging": { "pageSize": PAGE_SIZE, "pageNumber": page },
    });
    let answer = api
        .post_once(
            "analytics.conversations.details.query",
            "/api/v2/analytics/conversations/details/query",
            &query,
        )
        .await?;
    let unreadable = |what: &str| UpstreamError::Refused(format!("Genesys answered a detail query page {what}"));
    let total_hits = answer
        .get("totalHits")
        .and_then(Value::as_u64)
        .ok_or_else(|| unreadable("without totalHits"))?;
    let conversations = answer
        .get("conversations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|conversation| {
            ended_conversation(conversation).ok_or_else(|| unreadable("with an unreadable conversation"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ConversationPage {
        page,
        page_size: PAGE_SIZE,
        total_hits,
        conversations,
    })
}

fn timestamp(value: Option<&Value>) -> Option<Timestamp> {
    value
        .and_then(Value::as_str)
        .and_then(|text| Timestamp::parse(text).ok())
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The conversation's start, end and agent results; `None` when it has no id or start.
fn ended_conversation(conversation: &Value) -> Option<EndedConversation> {
    let participants = conversation
        .get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let customer_session = participants
        .iter()
        .filter(|p| p.get("purpose").and_then(Value::as_str) == Some("customer"))
        .flat_map(sessions)
        .next();
    let originating_direction = text(conversation.get("originatingDirection"));
    let results = participants
        .iter()
        .filter(|p| p.get("purpose").and_then(Value::as_str) == Some("agent"))
        .filter_map(|agent| Some((text(agent.get("userId"))?, agent)))
        .flat_map(|(user_id, agent)| {
            sessions(agent)
                .filter_map(|session| {
                    let wrapup = segments(session).find(|segment| {
                        segment.get("segmentType").and_then(Value::as_str) == Some("wrapup")
                            && segment.get("wrapUpCode").is_some()
                    })?;
                    // A wrap-up still going on is no result yet.
                    let wrapup_end = timestamp(wrapup.get("segmentEnd"))?;
                    let direction = text(session.get("direction")).or_else(|| originating_direction.clone());
                    Some(AgentResult {
                        user_id: user_id.clone(),
                        wrapup_code: text(wrapup.get("wrapUpCode"))?,
                        ani: customer_address(session, direction.as_deref())
                            .or_else(|| customer_session.and_then(|s| customer_address(s, direction.as_deref()))),
                        direction,
                        media_type: text(session.get("mediaType")),
                        subject: segments(session).find_map(|segment| text(segment.get("subject"))),
                        wrapup_end,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Some(EndedConversation {
        conversation_id: text(conversation.get("conversationId"))?,
        conversation_start: timestamp(conversation.get("conversationStart"))?,
        conversation_end: timestamp(conversation.get("conversationEnd")),
        results,
    })
}

fn sessions(participant: &Value) -> impl Iterator<Item = &Value> {
    participant
        .get("sessions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn segments(session: &Value) -> impl Iterator<Item = &Value> {
    session.get("segments").and_then(Value::as_array).into_iter().flatten()
}

/// The customer's address on a session: its `ani`, or for e-mail the sender of an inbound and
/// the recipient of an outbound one.
fn customer_address(session: &Value, direction: Option<&str>) -> Option<String> {
    text(session.get("ani")).or_else(|| match direction {
        Some("outbound") => text(session.get("addressTo")),
        _ => text(session.get("addressFrom")),
    })
}

#[cfg(test)]
mod tests {
    use super::ended_conversation;
    use serde_json::json;

    fn agent(user: &str, segments: serde_json::Value) -> serde_json::Value {
        json!({ "purpose": "agent", "userId": user, "sessions": [{
            "mediaType": "email", "direction": "inbound", "addressFrom": "client@example.com",
            "segments": segments,
        }]})
    }

    #[test]
    fn each_finished_wrap_up_with_a_code_is_a_result() {
        let conversation = json!({
            "conversationId": "c1",
            "conversationStart": "2026-11-28T10:00:00Z",
            "conversationEnd": "2026-11-28T10:05:00Z",
            "participants": [
                { "purpose": "customer", "sessions": [{ "ani": "tel:+420601123456", "segments": [] }] },
                agent("a1", json!([
                    { "segmentType": "interact", "subject": "Card" },
                    { "segmentType": "wrapup", "wrapUpCode": "w1", "segmentEnd": "2026-11-28T10:06:00Z" },
                ])),
                agent("a2", json!([{ "segmentType": "wrapup", "wrapUpCode": "w2" }])),
                agent("a3", json!([{ "segmentType": "wrapup", "segmentEnd": "2026-11-28T10:06:00Z" }])),
            ],
        });
        let found = ended_conversation(&conversation).unwrap();
        assert_eq!(found.results.len(), 1, "{found:?}");
        let result = &found.results[0];
        assert_eq!((result.user_id.as_str(), result.wrapup_code.as_str()), ("a1", "w1"));
        assert_eq!(result.ani.as_deref(), Some("client@example.com"));
        assert_eq!(result.subject.as_deref(), Some("Card"));
        assert_eq!(result.wrapup_end.to_string(), "2026-11-28T10:06:00Z");
    }

    #[test]
    fn a_conversation_going_on_has_no_end_and_no_id_is_unreadable() {
        let going_on = json!({ "conversationId": "c1", "conversationStart": "2026-11-28T10:00:00Z" });
        assert!(ended_conversation(&going_on).unwrap().conversation_end.is_none());
        assert!(ended_conversation(&json!({ "conversationStart": "2026-11-28T10:00:00Z" })).is_none());
    }
}
