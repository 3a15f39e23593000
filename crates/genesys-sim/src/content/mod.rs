//! A conversation's content, as Genesys serves it: its analytics details by id
//! (`GET /api/v2/analytics/conversations/{id}/details`), Speech and Text Analytics transcripts
//! (`transcripts`) and e-mail messages (`emails`). Content exists once a test or devstack posted
//! it (`POST /admin/conversations/{id}/transcript`, `…/emails`) for a recorded conversation:
//! until then Genesys' 404, so a transcript "appears later" when it is posted later.

mod emails;
mod transcripts;

use crate::api::{admit, error};
use crate::{lock, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) use emails::StoredEmail;
pub(crate) use transcripts::PresignedUrl;

/// What the simulated organisation holds of its conversations' content, and what the transcript
/// storage saw.
#[derive(Default)]
pub(crate) struct ContentStore {
    /// Transcript files by (conversation id, communication id).
    transcripts: HashMap<(String, String), Value>,
    /// Pre-signed URLs handed out, by their signature.
    urls: HashMap<String, PresignedUrl>,
    /// The `Authorization` header of every download from the transcript storage, in order (none:
    /// the request carried no credential, as a pre-signed URL's must not).
    download_authorizations: Vec<Option<String>>,
    /// E-mail messages by conversation id, as posted.
    emails: HashMap<String, Vec<StoredEmail>>,
}

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/analytics/conversations/{id}/details", web::get().to(details));
    transcripts::config(cfg);
    emails::config(cfg);
}

impl SimState {
    /// The `Authorization` header each transcript download carried, in order: `None` for one
    /// that carried none (tests check the Genesys token never reached the storage).
    pub fn transcript_download_authorizations(&self) -> Vec<Option<String>> {
        lock(&self.content).download_authorizations.clone()
    }
}

/// A recorded conversation as analytics holds it, whether analytics shows it yet or not.
fn recorded(state: &SimState, id: &str) -> Option<(Value, bool)> {
    let now = Instant::now();
    lock(&state.conversations)
        .iter()
        .find(|stored| stored.body["conversationId"].as_str() == Some(id))
        .map(|stored| (stored.body.clone(), stored.visible_from <= now))
}

/// The customer's first session of one of `media_types` in a recorded conversation: its
/// `sessionId`, `mediaType` and `ani` (the customer's address).
fn customer_session<'a>(conversation: &'a Value, media_types: &[&str]) -> Option<&'a Value> {
    conversation["participants"]
        .as_array()?
        .iter()
        .filter(|participant| participant["purpose"] == "customer")
        .flat_map(|participant| participant["sessions"].as_array().into_iter().flatten())
        .find(|session| session["mediaType"].as_str().is_some_and(|m| media_types.contains(&m)))
}

/// The conversation's start, as analytics wrote it (always, for a recorded conversation).
fn conversation_start(conversation: &Value) -> Option<OffsetDateTime> {
    conversation["conversationStart"]
        .as_str()
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
}

fn not_recorded() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "not.found",
        "no conversation of that id was recorded (POST /admin/conversations)",
    )
}

/// `GET /api/v2/analytics/conversations/{id}/details`: one conversation
/// (`AnalyticsConversationWithoutAttributes`), once analytics shows it.
async fn details(state: web::Data<SimState>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "analytics.conversations.details").await {
        return refused;
    }
    match recorded(&state, &id) {
        Some((body, true)) => HttpResponse::Ok().json(body),
        _ => error(
            StatusCode::NOT_FOUND,
            "not.found",
            "The requested resource was not found.",
        ),
    }
}
