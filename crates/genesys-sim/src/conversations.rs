//! Ended conversations, and the analytics conversation detail query that finds them
//! (`docs/genesys/api-facts.md` §9): `POST /admin/conversations` records one as Genesys'
//! analytics would hold it, visible to `POST /api/v2/analytics/conversations/details/query` once
//! the fault `analyticsDelaySeconds` has passed since it was recorded; `GET
//! /api/v2/conversations/{conversationId}` answers it as a `Conversation`, whose participants
//! carry their attributes (participant data: the detail query's do not, as the SDK's
//! `AnalyticsParticipantWithoutAttributes` says).

use crate::api::{admit, error};
use crate::faults::Malformed;
use crate::{lock, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The documented maximum page size of the detail query.
const MAX_PAGE_SIZE: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 25;

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/conversations", web::post().to(record))
        .route("/api/v2/analytics/conversations/details/query", web::post().to(query))
        .route("/api/v2/conversations/{conversationId}", web::get().to(conversation));
}

/// A conversation as analytics holds it.
pub(crate) struct StoredConversation {
    start: OffsetDateTime,
    /// Analytics shows it from then on (`analyticsDelaySeconds` after it was recorded).
    pub(crate) visible_from: Instant,
    /// As analytics holds it (`AnalyticsConversation`).
    pub(crate) body: Value,
    /// The customer participant's attributes.
    participant_data: std::collections::BTreeMap<String, String>,
}

/// A time as the admin API receives it and Genesys writes it: RFC 3339, in UTC.
#[derive(Debug, Clone)]
struct UtcTime {
    at: OffsetDateTime,
    text: String,
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(deserializer)?;
        let at = OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(D::Error::custom)?
            .to_offset(time::UtcOffset::UTC);
        let text = at.format(&Rfc3339).map_err(D::Error::custom)?;
        Ok(Self { at, text })
    }
}

/// An agent who handled the conversation and wrapped it up.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AgentResult {
    user_id: String,
    wrapup_code: String,
    /// When the wrap-up ended; the conversation's end when absent.
    #[serde(default)]
    wrapup_end: Option<UtcTime>,
}

/// `POST /admin/conversations`: an ended conversation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewConversation {
    #[serde(default)]
    conversation_id: Option<uuid::Uuid>,
    start: UtcTime,
    end: UtcTime,
    /// `inbound` or `outbound`.
    direction: String,
    /// `voice`, `email`, `message`, … (a session's `mediaType`).
    media_type: String,
    /// The customer's address (`tel:+420…` for voice).
    ani: String,
    #[serde(default)]
    subject: String,
    agents: Vec<AgentResult>,
    /// The customer participant's attributes (participant data), as an IVR or a bot set them.
    #[serde(default)]
    participant_data: std::collections::BTreeMap<String, String>,
}

fn analytics_body(state: &SimState, new: &NewConversation, id: &str) -> Value {
    let start = &new.start.text;
    let end = &new.end.text;
    let customer = json!({
        "participantId": uuid::Uuid::new_v4().to_string(),
        "participantName": "Customer",
        "purpose": "customer",
        "sessions": [{
            "sessionId": uuid::Uuid::new_v4().to_string(),
            "mediaType": new.media_type,
            "direction": new.direction,
            "ani": new.ani,
            "segments": [{ "segmentType": "interact", "segmentStart": start, "segmentEnd": end }],
        }],
    });
    let agents = new.agents.iter().map(|agent| {
        let name = state
            .users
            .get(&agent.user_id)
            .and_then(|user| user.get("name"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut interact = json!({ "segmentType": "interact", "segmentStart": start, "segmentEnd": end });
        if !new.subject.is_empty() {
            interact["subject"] = json!(new.subject);
        }
        let wrapup_end = agent.wrapup_end.as_ref().unwrap_or(&new.end);
        json!({
            "participantId": uuid::Uuid::new_v4().to_string(),
            "participantName": name,
            "purpose": "agent",
            "userId": agent.user_id,
            "sessions": [{
                "sessionId": uuid::Uuid::new_v4().to_string(),
                "mediaType": new.media_type,
                "direction": new.direction,
                "ani": new.ani,
                "segments": [
                    interact,
                    {
                        "segmentType": "wrapup",
                        "segmentStart": end,
                        "segmentEnd": wrapup_end.text,
                        "wrapUpCode": agent.wrapup_code,
                    },
                ],
            }],
        })
    });
    json!({
        "conversationId": id,
        "conversationStart": start,
        "conversationEnd": end,
        "originatingDirection": new.direction,
        "divisionIds": ["00000000-0000-4000-8000-000000000001"],
        "participants": std::iter::once(customer).chain(agents).collect::<Vec<_>>(),
    })
}

/// The result Genesys' data action posts for one agent (`POST /customers/supportResult`). The
/// simulated workflow passes on every attribute of the customer's participant data (a real one
/// passes those `deploy/genesys/apply.sh` configured: the service drops any other anyway).
fn support_result(new: &NewConversation, id: &str, agent: &AgentResult) -> Value {
    let mut result = json!({
        "conversationId": id,
        "eventTime": agent.wrapup_end.as_ref().unwrap_or(&new.end).text,
        "direction": new.direction,
        "mediaType": new.media_type,
        "ani": new.ani,
        "subject": new.subject,
        "wrapupCode": agent.wrapup_code,
        "userId": agent.user_id,
    });
    if !new.participant_data.is_empty() {
        result["participantData"] = json!(new.participant_data);
    }
    result
}

/// Plays the trigger: one attempt per agent's result, as the data action makes, unless the
/// fault `webhookDropPercent` drops it. Returns each delivery's outcome.
async fn deliver(state: &SimState, new: &NewConversation, id: &str) -> Vec<Value> {
    let Some(target) = lock(&state.webhook).clone() else {
        return Vec::new();
    };
    let mut outcomes = Vec::new();
    for agent in &new.agents {
        let n = state.webhook_attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let outcome = if lock(&state.faults).drops_webhook(n) {
            "dropped"
        } else {
            match state
                .webhook_client
                .post(&target.url)
                .basic_auth(&target.user, Some(&target.secret))
                .json(&support_result(new, id, agent))
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => "delivered",
                Ok(_) => "refused",
                Err(_) => "failed",
            }
        };
        state.count_webhook(outcome);
        outcomes.push(json!({ "userId": agent.user_id, "outcome": outcome }));
    }
    outcomes
}

async fn record(state: web::Data<SimState>, new: web::Json<NewConversation>) -> HttpResponse {
    let new = new.into_inner();
    if new.end.at < new.start.at {
        return error(StatusCode::BAD_REQUEST, "bad.request", "end is before start");
    }
    let id = new.conversation_id.unwrap_or_else(uuid::Uuid::new_v4).to_string();
    let body = analytics_body(&state, &new, &id);
    let delay = Duration::from_secs(lock(&state.faults).faults.analytics_delay_seconds);
    lock(&state.conversations).push(StoredConversation {
        start: new.start.at,
        visible_from: Instant::now() + delay,
        body: body.clone(),
        participant_data: new.participant_data.clone(),
    });
    let deliveries = deliver(&state, &new, &id).await;
    HttpResponse::Created().json(json!({ "conversation": body, "webhookDeliveries": deliveries }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Predicate {
    #[serde(default)]
    dimension: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    predicates: Vec<Predicate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    page_size: Option<usize>,
    page_number: Option<usize>,
}

/// `ConversationQuery`, the parts the simulator answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationQuery {
    interval: Option<String>,
    #[serde(default)]
    conversation_filters: Vec<Filter>,
    #[serde(default)]
    segment_filters: Vec<Filter>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    paging: Paging,
}

/// Does `predicate` hold for the dimension values `found`?
fn holds(predicate: &Predicate, found: &[&Value]) -> bool {
    match predicate.operator.as_deref().unwrap_or("matches") {
        "exists" => !found.is_empty(),
        "notExists" => found.is_empty(),
        _ => found.iter().any(|value| value.as_str() == predicate.value.as_deref()),
    }
}

fn filter_holds<'v>(filter: &Filter, values_of: impl Fn(&str) -> Vec<&'v Value>) -> bool {
    let mut results = filter.predicates.iter().map(|predicate| {
        let found = predicate.dimension.as_deref().map(&values_of).unwrap_or_default();
        holds(predicate, &found)
    });
    if filter.kind == "or" {
        results.any(|held| held)
    } else {
        results.all(|held| held)
    }
}

/// Why the simulator cannot answer `filter` as Genesys would, if it cannot: a filter type other
/// than `and`/`or`, a predicate without a dimension, or an operator other than `matches`,
/// `exists`, `notExists`.
fn unsupported(filter: &Filter) -> Option<String> {
    if !matches!(filter.kind.as_str(), "and" | "or") {
        return Some(format!("filter type {:?} is not and/or", filter.kind));
    }
    filter.predicates.iter().find_map(|predicate| {
        if predicate.dimension.is_none() {
            return Some("a predicate needs a dimension".to_owned());
        }
        match predicate.operator.as_deref() {
            None | Some("matches" | "exists" | "notExists") => None,
            Some(other) => Some(format!("operator {other:?} is not matches, exists or notExists")),
        }
    })
}

/// The values of `dimension` anywhere in a conversation's participants, sessions and segments.
fn segment_values<'a>(conversation: &'a Value, dimension: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    for participant in conversation["participants"].as_array().into_iter().flatten() {
        found.extend(participant.get(dimension));
        for session in participant["sessions"].as_array().into_iter().flatten() {
            found.extend(session.get(dimension));
            for segment in session["segments"].as_array().into_iter().flatten() {
                found.extend(segment.get(dimension));
            }
        }
    }
    found
}

fn parse_interval(interval: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let (start, end) = interval.split_once('/')?;
    let start = OffsetDateTime::parse(start, &Rfc3339).ok()?;
    let end = OffsetDateTime::parse(end, &Rfc3339).ok()?;
    (start < end).then_some((start, end))
}

/// `POST /api/v2/analytics/conversations/details/query`: the conversations that started in the
/// interval and match the filters, ordered by start, a page at a time.
async fn query(state: web::Data<SimState>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "analytics.conversations.details.query").await {
        return refused;
    }
    let Ok(query) = serde_json::from_slice::<ConversationQuery>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
        );
    };
    let Some((from, to)) = query.interval.as_deref().and_then(parse_interval) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "interval must be an ISO-8601 interval start/end",
        );
    };
    if let Some(reason) = query
        .conversation_filters
        .iter()
        .chain(&query.segment_filters)
        .find_map(unsupported)
    {
        return error(StatusCode::BAD_REQUEST, "bad.request", &reason);
    }
    let page_size = query.paging.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    let page_number = query.paging.page_number.unwrap_or(1);
    if page_size == 0 || page_size > MAX_PAGE_SIZE || page_number == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            &format!("paging: pageSize must be 1 to {MAX_PAGE_SIZE}, pageNumber at least 1"),
        );
    }
    let now = Instant::now();
    let mut matching: Vec<(OffsetDateTime, Value)> = lock(&state.conversations)
        .iter()
        .filter(|stored| stored.visible_from <= now && stored.start >= from && stored.start < to)
        .filter(|stored| {
            query
                .conversation_filters
                .iter()
                .all(|filter| filter_holds(filter, |dimension| stored.body.get(dimension).into_iter().collect()))
                && query
                    .segment_filters
                    .iter()
                    .all(|filter| filter_holds(filter, |dimension| segment_values(&stored.body, dimension)))
        })
        .map(|stored| (stored.start, stored.body.clone()))
        .collect();
    matching.sort_by(|a, b| (a.0, a.1["conversationId"].as_str()).cmp(&(b.0, b.1["conversationId"].as_str())));
    if query.order.as_deref() == Some("desc") {
        matching.reverse();
    }
    let total = matching.len();
    let malformed = state.malformed(Malformed::DetailQuery);
    let page: Vec<Value> = matching
        .into_iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .map(|(_, mut body)| {
            if malformed {
                body["conversationEnd"] = body["participants"][0]["sessions"][0]["ani"].clone();
            }
            body
        })
        .collect();
    let mut answer = json!({ "totalHits": total });
    if !page.is_empty() {
        answer["conversations"] = Value::Array(page);
    }
    HttpResponse::Ok().json(answer)
}

/// `GET /api/v2/conversations/{conversationId}`: a recorded conversation as a `Conversation` (at
/// once: the conversations API does not wait for analytics), its participants with their ids,
/// purposes, users and (the customer's) attributes.
async fn conversation(state: web::Data<SimState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "conversations.get").await {
        return refused;
    }
    let conversations = lock(&state.conversations);
    let Some(stored) = conversations
        .iter()
        .find(|stored| stored.body["conversationId"].as_str() == Some(id.as_str()))
    else {
        return error(
            StatusCode::NOT_FOUND,
            "not.found",
            "The requested resource was not found.",
        );
    };
    let participants: Vec<Value> = stored.body["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|participant| {
            let mut shown = json!({
                "id": participant["participantId"],
                "name": participant["participantName"],
                "purpose": participant["purpose"],
                "attributes": {},
            });
            if let Some(user) = participant.get("userId") {
                shown["userId"] = user.clone();
            }
            if participant["purpose"] == "customer" {
                shown["attributes"] = json!(stored.participant_data);
            }
            shown
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "id": id.as_str(),
        "startTime": stored.body["conversationStart"],
        "endTime": stored.body["conversationEnd"],
        "participants": participants,
    }))
}
