//! `GET /conversations/results`: the agents' results of the conversations that started in a
//! window, a page at a time (for result-ingest's sweep).

use crate::conversations;
use crate::scopes::GenesysConversations;
use crate::upstream::GenesysApi;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gateway::{ConversationPage, ConversationResultsQuery};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem};

/// The deepest page asked for: far beyond any window the sweep reads at once (it moves its
/// window on instead of paging deeper).
const MAX_PAGE: u32 = 1000;

/// The most participant attributes one page passes on, and the longest name.
const MAX_ATTRIBUTES: usize = 20;
const MAX_ATTRIBUTE_NAME: usize = 256;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/conversations/results")
            .route(web::get().to(results).wrap(from_fn(require::<GenesysConversations>))),
    );
}

fn required_time(name: &str, value: Option<&str>, problems: &mut Vec<FieldProblem>) -> Option<Timestamp> {
    match value.map(Timestamp::parse) {
        Some(Ok(at)) => Some(at),
        Some(Err(e)) => {
            problems.push(FieldProblem::parameter(name, e.to_string()));
            None
        }
        None => {
            problems.push(FieldProblem::parameter(name, "is required"));
            None
        }
    }
}

/// `participantAttributes`: comma-separated names, each 1 to 256 characters without a control
/// character, at most 20; none when absent.
fn attribute_names(value: Option<&str>, problems: &mut Vec<FieldProblem>) -> Vec<String> {
    let Some(value) = value else {
        return Vec::new();
    };
    let names: Vec<String> = value.split(',').map(|name| name.trim().to_owned()).collect();
    let fits =
        |name: &String| (1..=MAX_ATTRIBUTE_NAME).contains(&name.chars().count()) && !name.chars().any(char::is_control);
    if names.len() > MAX_ATTRIBUTES || !names.iter().all(fits) {
        problems.push(FieldProblem::parameter(
            "participantAttributes",
            format!("must be 1 to {MAX_ATTRIBUTES} comma-separated names of 1 to {MAX_ATTRIBUTE_NAME} characters"),
        ));
        return Vec::new();
    }
    names
}

/// One Genesys detail query page, oldest conversation first. Not retried here: a 429 or an
/// outage is answered 503 with `Retry-After` at once, for the caller to pace itself.
#[utoipa::path(
    get,
    path = "/conversations/results",
    tag = "conversations",
    params(ConversationResultsQuery),
    responses(
        (status = 200, description = "A page of conversations with their agents' results", body = ConversationPage),
        (status = 422, description = "A parameter is missing or wrong", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Genesys Cloud refused the query or answered a body that does not parse (the field's path named)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Genesys Cloud is down, slow or rate limiting; retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn results(
    api: web::Data<GenesysApi>,
    query: web::Query<ConversationResultsQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let from = required_time("startedFrom", query.started_from.as_deref(), &mut problems);
    let before = required_time("startedBefore", query.started_before.as_deref(), &mut problems);
    let attributes = attribute_names(query.participant_attributes.as_deref(), &mut problems);
    let page = match query.page.as_deref().map(str::parse::<u32>) {
        None => Some(1),
        Some(Ok(page)) if (1..=MAX_PAGE).contains(&page) => Some(page),
        Some(_) => {
            problems.push(FieldProblem::parameter("page", format!("must be 1 to {MAX_PAGE}")));
            None
        }
    };
    if let (Some(from), Some(before)) = (from, before) {
        if before <= from {
            problems.push(FieldProblem::parameter(
                "startedBefore",
                "must be later than startedFrom",
            ));
        }
    }
    let (Some(from), Some(before), Some(page), true) = (from, before, page, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let page = conversations::page(&api, from, before, page, &attributes).await?;
    Ok(HttpResponse::Ok().json(page))
}
