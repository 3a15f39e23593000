//! `GET /conversations/{conversationId}/content`: what was said or written in a conversation,
//! for result-ingest's content queue.

use crate::content::ContentSource;
use crate::scopes::ContentRead;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gateway::{ConversationContent, CONTENT_NOT_AVAILABLE};
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem, Problem, ProblemResponse};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/conversations/{conversationId}/content")
            .route(web::get().to(content).wrap(from_fn(require::<ContentRead>))),
    );
}

/// The customer's communications' transcripts or e-mail text, fetched from Genesys on each call
/// (nothing is kept here). Several Genesys requests: the conversation's details, then one per
/// transcript (and its download) or, for e-mail, one a page of its listing (25 a page) and one a
/// message, at most content.email_max_messages (the first listed; a longer thread's text ends
/// with a line "…"), every message's request reserved before the first is read.
#[utoipa::path(
    get,
    path = "/conversations/{conversationId}/content",
    tag = "conversations",
    params(("conversationId" = uuid::Uuid, Path, description = "The Genesys conversation id")),
    responses(
        (status = 200, description = "The content of each of the customer's communications that has some", body = ConversationContent),
        (status = 404, description = "content-not-available: Genesys has no content for the conversation yet (not in analytics yet, not transcribed yet, no e-mail message yet, or no communication with content); ask again later", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "conversationId is not a UUID", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Genesys Cloud refused a request, answered a body that does not parse (the field's path named, never its text), or pointed at a transcript that may not be fetched (a host off content.transcript_hosts or, outside development, not a public address; too large)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Genesys Cloud or its transcript storage is down, slow or rate limiting, or content's share of the Genesys budget (content.budget_percent) cannot give the requests asked for now (an e-mail's messages are reserved together: none is read then); retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn content(
    source: web::Data<ContentSource>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let conversation = uuid::Uuid::parse_str(&path)
        .map_err(|_| ApiError::Validation(vec![FieldProblem::parameter("conversationId", "must be a UUID")]))?;
    match source.content(conversation).await? {
        Some(content) => Ok(HttpResponse::Ok().json(content)),
        None => Ok(not_available().to_response()),
    }
}

fn not_available() -> Problem {
    Problem {
        problem_type: format!("urn:ccbridge:problem:{CONTENT_NOT_AVAILABLE}"),
        title: "Content not available".to_owned(),
        status: 404,
        detail: Some("Genesys Cloud has no content for this conversation yet".to_owned()),
        errors: Vec::new(),
    }
}
