//! E-mail messages: `GET /api/v2/conversations/emails/{conversationId}/messages` (an
//! `EmailMessagePreviewListing`: no bodies, 25 a page, `nextUri` naming the next) and `…/messages/{messageId}` (an `EmailMessage`, its
//! `textBody` and `htmlBody`). `POST /admin/conversations/{id}/emails` gives a recorded e-mail
//! conversation its messages.

use super::{conversation_start, customer_session, not_recorded, recorded};
use crate::api::{admit, error};
use crate::{lock, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The organisation's address its agents write from.
const QUEUE_ADDRESS: &str = "service@bank.example";

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/conversations/{id}/emails", web::post().to(record))
        .route(
            "/api/v2/conversations/emails/{conversationId}/messages",
            web::get().to(list),
        )
        .route(
            "/api/v2/conversations/emails/{conversationId}/messages/{messageId}",
            web::get().to(message),
        );
}

/// An `EmailMessage`, as Genesys answers it.
pub(crate) struct StoredEmail {
    id: String,
    body: Value,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Writer {
    Agent,
    Customer,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewMessage {
    from: Writer,
    /// The plain-text part; none: an HTML-only message.
    #[serde(default)]
    text: Option<String>,
    /// The HTML part; a paragraph of the text when absent.
    #[serde(default)]
    html: Option<String>,
    /// When it was received or sent (RFC 3339); a minute a message from the conversation's start,
    /// in the order given, when absent.
    #[serde(default)]
    time: Option<String>,
}

/// `POST /admin/conversations/{id}/emails`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewEmails {
    messages: Vec<NewMessage>,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

async fn record(state: web::Data<SimState>, id: web::Path<String>, new: web::Json<NewEmails>) -> HttpResponse {
    let Some((conversation, _)) = recorded(&state, &id) else {
        return not_recorded();
    };
    let Some(session) = customer_session(&conversation, &["email"]) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "the conversation has no e-mail session of the customer's",
        );
    };
    let customer = json!({ "email": session["ani"], "name": "Customer" });
    let queue = json!({ "email": QUEUE_ADDRESS, "name": "Customer service" });
    let subject = conversation["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["sessions"].as_array().into_iter().flatten())
        .flat_map(|s| s["segments"].as_array().into_iter().flatten())
        .find_map(|segment| segment["subject"].as_str())
        .unwrap_or("")
        .to_owned();
    let Some(start) = conversation_start(&conversation) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "the conversation has no start",
        );
    };
    let mut times = Vec::with_capacity(new.messages.len());
    for (n, message) in new.messages.iter().enumerate() {
        match message
            .time
            .as_deref()
            .map(|text| OffsetDateTime::parse(text, &Rfc3339))
        {
            None => times.push(start + time::Duration::minutes(n as i64)),
            Some(Ok(at)) => times.push(at),
            Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "bad.request", "time: not RFC 3339"),
        }
    }
    let stored: Vec<StoredEmail> = new
        .messages
        .iter()
        .enumerate()
        .map(|(n, message)| {
            let message_id = uuid::Uuid::new_v4().to_string();
            let (from, to) = match message.from {
                Writer::Customer => (&customer, &queue),
                Writer::Agent => (&queue, &customer),
            };
            let at = times[n];
            let html = message.html.clone().or_else(|| {
                message
                    .text
                    .as_ref()
                    .map(|text| format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;")))
            });
            let mut body = json!({
                "id": message_id,
                "to": [to],
                "cc": [],
                "bcc": [],
                "from": from,
                "subject": subject,
                "attachments": [],
                "time": rfc3339(at),
                "historyIncluded": false,
                "state": "Ready",
                "selfUri": format!("/api/v2/conversations/emails/{}/messages/{message_id}", id.as_str()),
            });
            if let Some(text) = &message.text {
                body["textBody"] = json!(text);
            }
            if let Some(html) = html {
                body["htmlBody"] = json!(html);
            }
            StoredEmail { id: message_id, body }
        })
        .collect();
    let ids: Vec<String> = stored.iter().map(|m| m.id.clone()).collect();
    lock(&state.content).emails.insert(id.to_string(), stored);
    HttpResponse::Created().json(json!({ "conversationId": id.as_str(), "messageIds": ids }))
}

/// `EmailMessagePreview`: the message without its bodies, a preview of its text instead.
fn preview(message: &Value) -> Value {
    let mut preview = message.clone();
    if let Some(object) = preview.as_object_mut() {
        object.remove("htmlBody");
        if let Some(Value::String(text)) = object.remove("textBody") {
            object.insert(
                "textBodyPreview".to_owned(),
                json!(text.chars().take(100).collect::<String>()),
            );
        }
    }
    preview
}

/// Genesys' page size for a listing it pages without being asked (its default, 25).
const PAGE_SIZE: usize = 25;

/// `pageSize` and `pageNumber`, as the listing's own `nextUri` names them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    page_number: Option<usize>,
}

async fn list(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
    page: web::Query<Page>,
) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "conversations.emails.messages").await {
        return refused;
    }
    let size = page.page_size.unwrap_or(PAGE_SIZE);
    let number = page.page_number.unwrap_or(1);
    if !(1..=100).contains(&size) || number == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "pageSize: 1 to 100; pageNumber: 1 or more",
        );
    }
    let content = lock(&state.content);
    let Some(messages) = content.emails.get(id.as_str()) else {
        return error(
            StatusCode::NOT_FOUND,
            "not.found",
            "The requested resource was not found.",
        );
    };
    let path = format!("/api/v2/conversations/emails/{}/messages", id.as_str());
    let uri = |n: usize| format!("{path}?pageSize={size}&pageNumber={n}");
    let total = messages.len();
    let pages = total.div_ceil(size).max(1);
    let mut listing = json!({
        "entities": messages.iter().skip((number - 1) * size).take(size).map(|m| preview(&m.body)).collect::<Vec<_>>(),
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "pageCount": pages,
        "firstUri": uri(1),
        "lastUri": uri(pages),
        "selfUri": uri(number),
    });
    if number < pages {
        listing["nextUri"] = json!(uri(number + 1));
    }
    if number > 1 {
        listing["previousUri"] = json!(uri(number - 1));
    }
    HttpResponse::Ok().json(listing)
}

async fn message(state: web::Data<SimState>, request: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "conversations.emails.message").await {
        return refused;
    }
    let (conversation, message) = path.into_inner();
    lock(&state.content)
        .emails
        .get(&conversation)
        .and_then(|messages| messages.iter().find(|m| m.id == message))
        .map_or_else(
            || {
                error(
                    StatusCode::NOT_FOUND,
                    "not.found",
                    "The requested resource was not found.",
                )
            },
            |found| HttpResponse::Ok().json(&found.body),
        )
}
