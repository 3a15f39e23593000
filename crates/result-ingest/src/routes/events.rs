//! `/ingest/events`: what operators see of the inbox (no personal data) and how they replay it.

use crate::inbox::{self, EventSummary, InboxStatus};
use crate::scopes::IngestOperate;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use domain::Timestamp;
use serde::Deserialize;
use service_kit::auth::require;
use service_kit::database::DbPool;
use service_kit::pagination::{keyset_page, page_parameters};
use service_kit::problem::{ApiError, FieldProblem};
use uuid::Uuid;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ingest/events").route(web::get().to(list).wrap(from_fn(require::<IngestOperate>))))
        .service(
            web::resource("/ingest/events/retry-dead")
                .route(web::post().to(retry_all_dead).wrap(from_fn(require::<IngestOperate>))),
        )
        .service(
            web::resource("/ingest/events/{id}/retry")
                .route(web::post().to(retry_one).wrap(from_fn(require::<IngestOperate>))),
        );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `pending` or `dead` (required).
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// A page of events, oldest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventPage {
    items: Vec<EventSummary>,
    next_cursor: Option<String>,
}

/// A replayed event.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Retried {
    id: Uuid,
    status: InboxStatus,
}

/// How many dead events were replayed.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RetriedCount {
    retried: u64,
}

/// `GET /ingest/events?status=pending|dead&limit=&cursor=`: oldest first.
#[utoipa::path(
    get,
    path = "/ingest/events",
    tag = "inbox",
    params(ListQuery),
    responses((status = 200, description = "Events, oldest first, without personal data", body = EventPage))
)]
pub(crate) async fn list(pool: web::Data<DbPool>, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let status = match query.status.as_deref() {
        Some("pending") => Some(InboxStatus::Pending),
        Some("dead") => Some(InboxStatus::Dead),
        _ => {
            problems.push(FieldProblem::parameter("status", "must be pending or dead"));
            None
        }
    };
    let (limit, after) = page_parameters(query.limit.as_deref(), query.cursor.as_deref(), 50, 500, &mut problems);
    let (Some(status), true) = (status, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let items = pool
        .run(move |c| inbox::list(c, status, after, limit + 1).map_err(ApiError::from))
        .await?;
    let (items, next_cursor) = keyset_page(items, limit, |event: &EventSummary| (event.accepted_at, event.id));
    Ok(HttpResponse::Ok().json(EventPage { items, next_cursor }))
}

/// `POST /ingest/events/{id}/retry`: a dead event back to pending with a fresh budget.
#[utoipa::path(
    post,
    path = "/ingest/events/{id}/retry",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "The event id")),
    responses(
        (status = 202, description = "Pending again", body = Retried),
        (status = 404, description = "No such event", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event is not dead", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn retry_one(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = Uuid::try_parse(&path).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid event id: expected a UUID",
        )])
    })?;
    let (retried, status) = pool
        .run(move |c| {
            let retried = inbox::retry_dead(c, Some(id), Timestamp::now())?;
            let status = inbox::status_of(c, id)?;
            Ok::<_, ApiError>((retried, status))
        })
        .await?;
    match (retried, status) {
        (1, _) => Ok(HttpResponse::Accepted().json(Retried {
            id,
            status: InboxStatus::Pending,
        })),
        (_, None) => Err(ApiError::NotFound(format!("no inbox event {id}"))),
        (_, Some(status)) => Err(ApiError::Conflict(format!(
            "event {id} is {}, not dead",
            status.as_str()
        ))),
    }
}

/// `POST /ingest/events/retry-dead`: every dead event back to pending.
#[utoipa::path(
    post,
    path = "/ingest/events/retry-dead",
    tag = "inbox",
    responses((status = 202, description = "How many went back to pending", body = RetriedCount))
)]
pub(crate) async fn retry_all_dead(pool: web::Data<DbPool>) -> Result<HttpResponse, ApiError> {
    let retried = pool
        .run(move |c| inbox::retry_dead(c, None, Timestamp::now()).map_err(ApiError::from))
        .await?;
    tracing::info!(retried, "dead events returned to pending");
    Ok(HttpResponse::Accepted().json(RetriedCount {
        retried: retried as u64,
    }))
}
