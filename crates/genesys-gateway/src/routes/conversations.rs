//! `GET /conversations/results`: the agents' results of the conversations that started in a
//! window, a page at a time (for result-ingest's sweep); `GET
//! /conversations/{conversationId}/participantData`: the customer's attributes of the names
//! asked for (for a result the sweep recovers).

use crate::conversations;
use crate::scopes::GenesysConversations;
use crate::upstream::GenesysApi;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use contracts::gateway::{
    AttributeName, ConversationPage, ConversationParticipantData, ConversationResultsQuery, ParticipantDataQuery,
};
use domain::Timestamp;
use service_kit::auth::require;
use service_kit::problem::{ApiError, FieldProblem};

/// The deepest page asked for: far beyond any window the sweep reads at once (it moves its
/// window on instead of paging deeper).
const MAX_PAGE: u32 = 1000;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/conversations/results")
            .route(web::get().to(results).wrap(from_fn(require::<GenesysConversations>))),
    )
    .service(
        web::resource("/conversations/{conversationId}/participantData").route(
            web::get()
                .to(participant_data)
                .wrap(from_fn(require::<GenesysConversations>)),
        ),
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
    let page = conversations::page(&api, from, before, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `attributes`: 1 to [`AttributeName::MAX_PER_REQUEST`] comma-separated names, each an
/// [`AttributeName`] (the rule result-ingest's settings and the Genesys setup hold too).
fn attribute_names(value: Option<&str>) -> Result<Vec<AttributeName>, FieldProblem> {
    let names: Result<Vec<AttributeName>, _> = value
        .unwrap_or_default()
        .split(',')
        .map(|name| AttributeName::parse(name.trim()))
        .collect();
    match names {
        Ok(names) if names.len() <= AttributeName::MAX_PER_REQUEST => Ok(names),
        Ok(_) => Err(FieldProblem::parameter(
            "attributes",
            format!("at most {} names", AttributeName::MAX_PER_REQUEST),
        )),
        Err(invalid) => Err(FieldProblem::parameter(
            "attributes",
            format!("comma-separated names: {invalid}"),
        )),
    }
}

/// The customer participant's attributes of the names asked for, and no other (one Genesys
/// request: `GET /api/v2/conversations/{conversationId}`; retried as lookups are).
#[utoipa::path(
    get,
    path = "/conversations/{conversationId}/participantData",
    tag = "conversations",
    params(("conversationId" = uuid::Uuid, Path, description = "The Genesys conversation id"), ParticipantDataQuery),
    responses(
        (status = 200, description = "The customer's values of the attributes asked for, those it has", body = ConversationParticipantData),
        (status = 404, description = "Genesys Cloud does not know the conversation", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "conversationId is not a UUID, or attributes is missing or wrong", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Genesys Cloud refused the request or answered a body that does not parse (the field's path named, never a value)", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Genesys Cloud is down, slow or rate limiting; retry after Retry-After", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn participant_data(
    api: web::Data<GenesysApi>,
    path: web::Path<String>,
    query: web::Query<ParticipantDataQuery>,
) -> Result<HttpResponse, ApiError> {
    let conversation =
        uuid::Uuid::parse_str(&path).map_err(|_| FieldProblem::parameter("conversationId", "must be a UUID"));
    let names = attribute_names(query.attributes.as_deref());
    let (conversation, names) = match (conversation, names) {
        (Ok(conversation), Ok(names)) => (conversation, names),
        (conversation, names) => {
            return Err(ApiError::Validation(
                [conversation.err(), names.err()].into_iter().flatten().collect(),
            ))
        }
    };
    let found = conversations::participant_data(&api, conversation, &names).await?;
    Ok(HttpResponse::Ok().json(found))
}
