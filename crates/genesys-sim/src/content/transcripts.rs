//! Speech and Text Analytics transcripts: `GET /api/v2/speechandtextanalytics/conversations/
//! {conversationId}/communications/{communicationId}/transcripturl` answers a `TranscriptUrl`,
//! a pre-signed URL (ten minutes) on the simulator's own host standing for Genesys' S3 bucket;
//! `GET /transcripts/…` there serves the transcript file in its documented format
//! (developer.genesys.cloud, Speech and text analytics › Transcript URL, "Transcript schema"),
//! and refuses, as S3 does, a request that also carries an `Authorization` header.
//! `POST /admin/conversations/{id}/transcript` gives the customer's voice, message or chat
//! communication its transcript.

use super::{conversation_start, customer_session, not_recorded, recorded};
use crate::api::{admit, base_url, error};
use crate::faults::Malformed;
use crate::{lock, SimState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How long a pre-signed URL is valid, as Genesys documents it.
const URL_LIFETIME: Duration = Duration::from_secs(600);
/// The simulated organisation.
const ORGANIZATION_ID: &str = "9d4e3b2a-6c1f-4e8d-9a7b-5c3e2f1d0a9b";

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/conversations/{id}/transcript", web::post().to(record))
        .route(
            "/api/v2/speechandtextanalytics/conversations/{conversationId}/communications/{communicationId}/transcripturl",
            web::get().to(transcript_url),
        )
        .route("/transcripts/{conversationId}/{file}", web::get().to(download));
}

/// A URL handed out: whose transcript, until when.
pub(crate) struct PresignedUrl {
    key: (String, String),
    expires: Instant,
}

/// Who said a phrase.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Speaker {
    Agent,
    Customer,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPhrase {
    speaker: Speaker,
    text: String,
    /// Milliseconds from the conversation's start; three seconds a phrase, in the order given,
    /// when absent.
    #[serde(default)]
    offset_ms: Option<u64>,
}

/// `POST /admin/conversations/{id}/transcript`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTranscript {
    phrases: Vec<NewPhrase>,
}

/// The transcript file of `session` (the customer's communication) in `conversation`.
fn document(conversation: &Value, start: OffsetDateTime, session: &Value, phrases: &[NewPhrase]) -> Value {
    let start = (start.unix_timestamp_nanos() / 1_000_000) as i64;
    let media_type = match session["mediaType"].as_str() {
        Some("voice") => "call",
        other => other.unwrap_or("call"),
    };
    let phrases: Vec<Value> = phrases
        .iter()
        .enumerate()
        .map(|(n, phrase)| {
            let offset = phrase.offset_ms.unwrap_or(3_000 * n as u64) as i64;
            let words: Vec<Value> = phrase
                .text
                .split_whitespace()
                .enumerate()
                .map(|(w, word)| {
                    json!({ "word": word, "confidence": 0.93, "offset": { "milliseconds": offset + 300 * w as i64 },
                        "startTimeMs": start + offset + 300 * w as i64, "duration": { "milliseconds": 280 } })
                })
                .collect();
            json!({
                "text": phrase.text,
                "stability": 100,
                "confidence": 0.93,
                "offset": { "milliseconds": offset },
                "startTimeMs": start + offset,
                "duration": { "milliseconds": 300 * words.len().max(1) as i64 },
                "words": words,
                "alternatives": [],
                "participantPurpose": match phrase.speaker { Speaker::Agent => "internal", Speaker::Customer => "external" },
                "type": "transcript",
            })
        })
        .collect();
    json!({
        "organizationId": ORGANIZATION_ID,
        "conversationId": conversation["conversationId"],
        "communicationId": session["sessionId"],
        "mediaType": media_type,
        "conversationStartTime": start,
        "startTime": start,
        "duration": { "milliseconds": 3_000 * phrases.len() as i64 },
        "transcripts": [{
            "transcriptId": uuid::Uuid::new_v4().to_string(),
            "language": "en-US",
            "programId": uuid::Uuid::new_v4().to_string(),
            "engineId": "Genesys",
            "startTime": start,
            "duration": { "milliseconds": 3_000 * phrases.len() as i64 },
            "phrases": phrases,
            "analytics": { "sentiment": [], "topics": [], "acoustic": [] },
        }],
        "participants": [
            { "participantPurpose": "external", "ani": session["ani"], "startTimeMs": start },
        ],
    })
}

async fn record(state: web::Data<SimState>, id: web::Path<String>, new: web::Json<NewTranscript>) -> HttpResponse {
    let Some((conversation, _)) = recorded(&state, &id) else {
        return not_recorded();
    };
    let Some(session) = customer_session(&conversation, &["voice", "message", "chat"]) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "the conversation has no voice, message or chat session of the customer's",
        );
    };
    let (Some(start), Some(communication)) = (conversation_start(&conversation), session["sessionId"].as_str()) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "the conversation has no start or session id",
        );
    };
    let communication = communication.to_owned();
    let file = document(&conversation, start, session, &new.phrases);
    lock(&state.content)
        .transcripts
        .insert((id.to_string(), communication.clone()), file);
    HttpResponse::Created().json(json!({ "conversationId": id.as_str(), "communicationId": communication }))
}

/// `GET …/transcripturl`: a `TranscriptUrl` while the communication has a transcript, else 404.
async fn transcript_url(
    state: web::Data<SimState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    if let Err(refused) = admit(&state, &request, "speechandtextanalytics.transcripturl").await {
        return refused;
    }
    let key = path.into_inner();
    let mut content = lock(&state.content);
    if !content.transcripts.contains_key(&key) {
        return error(StatusCode::NOT_FOUND, "not.found", "Transcript not found");
    }
    let signature = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let url = format!(
        "{}/transcripts/{}/{}-transcripts?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}",
        base_url(&request),
        key.0,
        key.1,
        URL_LIFETIME.as_secs()
    );
    content.urls.insert(
        signature,
        PresignedUrl {
            key,
            expires: Instant::now() + URL_LIFETIME,
        },
    );
    HttpResponse::Ok().json(json!({ "url": url }))
}

#[derive(Deserialize)]
struct Signed {
    #[serde(rename = "X-Amz-Signature")]
    signature: Option<String>,
}

/// S3's XML error.
fn s3_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/xml")
        .body(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ))
}

/// The transcript storage: the file a valid, unexpired pre-signed URL names.
async fn download(state: web::Data<SimState>, request: HttpRequest, query: web::Query<Signed>) -> HttpResponse {
    state.count("speechandtextanalytics.transcript");
    let authorization = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let mut content = lock(&state.content);
    content.download_authorizations.push(authorization.clone());
    if authorization.is_some() {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let now = Instant::now();
    let key = query
        .signature
        .as_deref()
        .and_then(|signature| content.urls.get(signature))
        .filter(|url| url.expires > now)
        .map(|url| url.key.clone());
    let Some(mut file) = key.and_then(|key| content.transcripts.get(&key).cloned()) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired or its signature does not match",
        );
    };
    drop(content);
    if state.malformed(Malformed::Transcript) {
        for phrase in file["transcripts"][0]["phrases"].as_array_mut().into_iter().flatten() {
            phrase["startTimeMs"] = json!(phrase["startTimeMs"].to_string());
        }
    }
    HttpResponse::Ok().json(file)
}
