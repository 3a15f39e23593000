//! Ended conversations and their agents' results, from Genesys' analytics conversation detail
//! query (`docs/genesys/api-facts.md` §9): what result-ingest's sweep compares with what the
//! webhook delivered. One Genesys request a page, answered as it came: the sweep paces itself,
//! retries and counts what it spends, so this does not retry on its behalf.

use crate::error::UpstreamError;
use crate::models::{
    AnalyticsConversation, AnalyticsConversationQueryResponse, AnalyticsSession, Conversation, ConversationQuery,
    Direction, OrderBy, PagingSpec, Purpose, SegmentType, SortOrder,
};
use crate::upstream::GenesysApi;
use contracts::gateway::{AttributeName, ConversationParticipantData};
use domain::Timestamp;
use std::collections::BTreeMap;

/// Conversations per detail query page: the documented maximum.
pub const PAGE_SIZE: u32 = 100;

/// What the gateway answers: the wire types result-ingest reads (`contracts::gateway`).
pub use contracts::gateway::{AgentResult, ConversationPage, EndedConversation};

/// The endpoint word (metrics, logs) of the detail query.
const ENDPOINT: &str = "analytics.conversations.details.query";

/// Page `page` (from 1) of the conversations that started in `[from, before)`, oldest first.
/// An answer that does not fit Genesys' documented model (a `conversationEnd` that is no
/// timestamp, an agent without a `userId`, …) is [`UpstreamError::Unparsed`], counted and logged
/// by field: never a conversation "still going on", never a result left out.
pub async fn page(
    api: &GenesysApi,
    from: Timestamp,
    before: Timestamp,
    page: u32,
) -> Result<ConversationPage, UpstreamError> {
    let query = ConversationQuery {
        interval: format!("{from}/{before}"),
        order: SortOrder::Asc,
        order_by: OrderBy::ConversationStart,
        paging: PagingSpec {
            page_size: PAGE_SIZE,
            page_number: page,
        },
    };
    let answer: AnalyticsConversationQueryResponse = api
        .post_once(ENDPOINT, "/api/v2/analytics/conversations/details/query", &query)
        .await?;
    let conversations = answer
        .conversations
        .iter()
        .enumerate()
        .map(|(n, conversation)| {
            ended_conversation(conversation).map_err(|Unreadable { at, problem }| {
                api.unparsed(ENDPOINT, format!("conversations[{n}].{at}"), problem)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ConversationPage {
        page,
        page_size: PAGE_SIZE,
        total_hits: answer.total_hits,
        conversations,
    })
}

/// The endpoint word (metrics, logs) of the conversation read.
const CONVERSATION_ENDPOINT: &str = "conversations.get";

/// The customer participant's attributes of these `names` (of several customer participants,
/// the first to hold one), from the conversation itself (`GET /api/v2/conversations/{id}`: the
/// analytics detail query's participants carry no attributes). No other attribute leaves the
/// gateway.
/// Another conversation's answer is [`UpstreamError::Unparsed`] (`id`), never passed on.
pub async fn participant_data(
    api: &GenesysApi,
    conversation_id: uuid::Uuid,
    names: &[AttributeName],
) -> Result<ConversationParticipantData, UpstreamError> {
    let path = format!("/api/v2/conversations/{conversation_id}");
    let conversation: Conversation = api.get(CONVERSATION_ENDPOINT, &path, &[]).await?;
    let participant_data = customer_attributes(&conversation, conversation_id, names)
        .map_err(|Unreadable { at, problem }| api.unparsed(CONVERSATION_ENDPOINT, at, problem))?;
    Ok(ConversationParticipantData {
        conversation_id: conversation_id.to_string(),
        participant_data,
    })
}

/// The customer's attributes of `names` in `conversation`, the answer about `asked`.
fn customer_attributes(
    conversation: &Conversation,
    asked: uuid::Uuid,
    names: &[AttributeName],
) -> Result<BTreeMap<String, String>, Unreadable> {
    if conversation.id != asked {
        return Err(Unreadable {
            at: "id".to_owned(),
            problem: "another conversation than the one asked for",
        });
    }
    let customers = || {
        conversation
            .participants
            .iter()
            .filter(|p| p.purpose == Some(Purpose::Customer))
    };
    Ok(names
        .iter()
        .filter_map(|name| {
            customers()
                .find_map(|p| p.attributes.0.get(name.as_str()))
                .map(|value| (name.as_str().to_owned(), value.clone()))
        })
        .collect())
}

/// A conversation that parsed but breaks a rule of its model: the field's path within the
/// conversation, and what is wrong (never the value).
#[derive(Debug, PartialEq, Eq)]
struct Unreadable {
    at: String,
    problem: &'static str,
}

/// A text Genesys may leave empty, as absent.
fn text(value: Option<&String>) -> Option<String> {
    value.filter(|t| !t.is_empty()).cloned()
}

/// The conversation's start, end and agent results.
fn ended_conversation(conversation: &AnalyticsConversation) -> Result<EndedConversation, Unreadable> {
    let customer_session = conversation
        .participants
        .iter()
        .filter(|p| p.purpose == Purpose::Customer)
        .flat_map(|p| &p.sessions)
        .next();
    let mut results = Vec::new();
    for (n, participant) in conversation.participants.iter().enumerate() {
        if participant.purpose != Purpose::Agent {
            continue;
        }
        // Genesys documents an agent participant as a user's: without the user, its results
        // would be nobody's.
        let user_id = participant.user_id.ok_or_else(|| Unreadable {
            at: format!("participants[{n}].userId"),
            problem: "an agent participant without a userId",
        })?;
        for session in &participant.sessions {
            let Some(wrapup) = session
                .segments
                .iter()
                .find(|segment| segment.segment_type == SegmentType::Wrapup && segment.wrap_up_code.is_some())
            else {
                continue;
            };
            // A wrap-up still going on is no result yet.
            let (Some(wrapup_end), Some(wrapup_code)) = (wrapup.segment_end, wrapup.wrap_up_code.clone()) else {
                continue;
            };
            let direction = session.direction.or(conversation.originating_direction);
            results.push(AgentResult {
                user_id: user_id.to_string(),
                wrapup_code,
                ani: customer_address(session, direction)
                    .or_else(|| customer_session.and_then(|s| customer_address(s, direction))),
                direction: direction.map(|d| d.as_str().to_owned()),
                media_type: text(session.media_type.as_ref()),
                subject: session
                    .segments
                    .iter()
                    .find_map(|segment| text(segment.subject.as_ref())),
                wrapup_end,
            });
        }
    }
    Ok(EndedConversation {
        conversation_id: conversation.conversation_id.to_string(),
        conversation_start: conversation.conversation_start,
        conversation_end: conversation.conversation_end,
        results,
    })
}

/// The customer's address on a session: its `ani`, or for e-mail the sender of an inbound and
/// the recipient of an outbound one; none when the direction is not known.
fn customer_address(session: &AnalyticsSession, direction: Option<Direction>) -> Option<String> {
    text(session.ani.as_ref()).or_else(|| match direction? {
        Direction::Outbound => text(session.address_to.as_ref()),
        Direction::Inbound => text(session.address_from.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::{customer_attributes, ended_conversation, AttributeName, Unreadable};
    use crate::models::AnalyticsConversation;
    use crate::models::Conversation;
    use serde_json::json;

    const C1: &str = "5773eca4-0874-4617-a6e8-85591aa94609";
    const A1: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
    const A2: &str = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b";
    const A3: &str = "1ccb1c09-9495-4034-b377-b809f58d17da";

    fn agent(user: &str, segments: serde_json::Value) -> serde_json::Value {
        json!({ "purpose": "agent", "userId": user, "sessions": [{
            "mediaType": "email", "direction": "inbound", "addressFrom": "client@example.com",
            "segments": segments,
        }]})
    }

    fn conversation(body: serde_json::Value) -> AnalyticsConversation {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn only_the_customer_attributes_asked_for_are_passed_on() {
        let conversation: Conversation = serde_json::from_value(json!({
            "id": C1,
            "participants": [
                { "purpose": "ivr", "attributes": { "bankCustomerId": "from the ivr participant" } },
                { "purpose": "customer", "attributes": { "bankCustomerId": "c-1", "callerName": "Jana" } },
                { "purpose": "customer", "attributes": { "bankCustomerId": "c-2", "bankProduct": "CARDS" } },
                { "purpose": "agent", "userId": A1 },
            ],
        }))
        .unwrap();
        let asked = ["bankCustomerId", "bankProduct", "absent"].map(|n| AttributeName::parse(n).unwrap());
        let expected: std::collections::BTreeMap<String, String> = [
            ("bankCustomerId".to_owned(), "c-1".to_owned()),
            ("bankProduct".to_owned(), "CARDS".to_owned()),
        ]
        .into();
        let c1 = uuid::Uuid::parse_str(C1).unwrap();
        assert_eq!(customer_attributes(&conversation, c1, &asked), Ok(expected));
        // An answer about another conversation is off-contract, never passed on.
        let other = uuid::Uuid::parse_str(A1).unwrap();
        assert_eq!(customer_attributes(&conversation, other, &asked).unwrap_err().at, "id");
        let not_text =
            json!({ "id": C1, "participants": [{ "purpose": "customer", "attributes": { "bankCustomerId": 7 } }] });
        assert!(serde_json::from_value::<Conversation>(not_text).is_err());
        let without_id = json!({ "participants": [] });
        assert!(serde_json::from_value::<Conversation>(without_id).is_err());
    }

    #[test]
    fn each_finished_wrap_up_with_a_code_is_a_result() {
        let found = ended_conversation(&conversation(json!({
            "conversationId": C1,
            "conversationStart": "2026-11-28T10:00:00Z",
            "conversationEnd": "2026-11-28T10:05:00Z",
            "participants": [
                { "purpose": "customer", "sessions": [{ "ani": "tel:+420601123456", "segments": [] }] },
                { "purpose": "acd", "sessions": [] },
                { "purpose": "somethingnew", "sessions": [] },
                agent(A1, json!([
                    { "segmentType": "interact", "subject": "Card" },
                    { "segmentType": "wrapup", "wrapUpCode": "w1", "segmentEnd": "2026-11-28T10:06:00Z" },
                ])),
                agent(A2, json!([{ "segmentType": "wrapup", "wrapUpCode": "w2" }])),
                agent(A3, json!([{ "segmentType": "wrapup", "segmentEnd": "2026-11-28T10:06:00Z" }])),
            ],
        })))
        .unwrap();
        assert_eq!(found.results.len(), 1, "{found:?}");
        let result = &found.results[0];
        assert_eq!((result.user_id.as_str(), result.wrapup_code.as_str()), (A1, "w1"));
        assert_eq!(result.ani.as_deref(), Some("client@example.com"));
        assert_eq!(result.subject.as_deref(), Some("Card"));
        assert_eq!(result.wrapup_end.to_string(), "2026-11-28T10:06:00Z");
    }

    #[test]
    fn a_conversation_going_on_has_no_end_and_one_whose_end_is_unreadable_does_not_parse() {
        let going_on = json!({ "conversationId": C1, "conversationStart": "2026-11-28T10:00:00Z" });
        assert!(ended_conversation(&conversation(going_on))
            .unwrap()
            .conversation_end
            .is_none());
        for unreadable in [
            json!({ "conversationId": C1, "conversationStart": "2026-11-28T10:00:00Z", "conversationEnd": "tel:+420601123456" }),
            json!({ "conversationId": C1, "conversationStart": "2026-11-28T10:00:00Z", "conversationEnd": 1_764_324_300_000_u64 }),
            json!({ "conversationStart": "2026-11-28T10:00:00Z" }),
            json!({ "conversationId": C1, "conversationStart": "2026-11-28T10:00:00Z", "participants": [
                { "purpose": "agent", "userId": A1, "sessions": [{ "segments": [
                    { "segmentType": "wrapup", "wrapUpCode": "w1", "segmentEnd": "soon" }
                ]}]}
            ]}),
        ] {
            assert!(
                serde_json::from_value::<AnalyticsConversation>(unreadable.clone()).is_err(),
                "{unreadable}"
            );
        }
    }

    #[test]
    fn an_agent_without_a_user_is_unreadable_not_left_out() {
        let mut body = agent(
            A1,
            json!([{ "segmentType": "wrapup", "wrapUpCode": "w1", "segmentEnd": "2026-11-28T10:06:00Z" }]),
        );
        body.as_object_mut().unwrap().remove("userId");
        let found = ended_conversation(&conversation(json!({
            "conversationId": C1, "conversationStart": "2026-11-28T10:00:00Z", "participants": [{ "purpose": "customer" }, body],
        })));
        assert_eq!(
            found.unwrap_err(),
            Unreadable {
                at: "participants[1].userId".to_owned(),
                problem: "an agent participant without a userId"
            }
        );
    }
}
