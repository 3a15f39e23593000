//! `/deliveries`: what operators see of the delivery outbox to the communication-history-manager
//! (ids, states and reasons, no personal data) and how they replay its dead letters.

use crate::scopes::RecordsOperate;
use crate::store::deliveries::{self, Delivery, DeliveryStatus};
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
    cfg.service(web::resource("/deliveries").route(web::get().to(list).wrap(from_fn(require::<RecordsOperate>))))
        .service(
            web::resource("/deliveries/retry-dead")
                .route(web::post().to(retry_all_dead).wrap(from_fn(require::<RecordsOperate>))),
        )
        .service(
            web::resource("/deliveries/{id}/retry")
                .route(web::post().to(retry_one).wrap(from_fn(require::<RecordsOperate>))),
        );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `pending`, `dead` or `delivered` (required).
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// A page of deliveries, oldest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryPage {
    items: Vec<Delivery>,
    next_cursor: Option<String>,
}

/// How many dead deliveries were replayed.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RetriedCount {
    retried: u64,
}

/// `GET /deliveries?status=pending|dead|delivered&limit=&cursor=`: oldest first.
#[utoipa::path(
    get,
    path = "/deliveries",
    tag = "deliveries",
    params(ListQuery),
    responses((status = 200, description = "Deliveries, oldest first, without personal data", body = DeliveryPage))
)]
pub(crate) async fn list(pool: web::Data<DbPool>, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let status = match query.status.as_deref() {
        Some("pending") => Some(DeliveryStatus::Pending),
        Some("dead") => Some(DeliveryStatus::Dead),
        Some("delivered") => Some(DeliveryStatus::Delivered),
        _ => {
            problems.push(FieldProblem::parameter("status", "must be pending, dead or delivered"));
            None
        }
    };
    let (limit, after) = page_parameters(query.limit.as_deref(), query.cursor.as_deref(), 50, 500, &mut problems);
    let (Some(status), true) = (status, problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let items = pool
        .run(move |c| deliveries::list(c, status, after.map(|(_, id)| id), limit + 1).map_err(ApiError::from))
        .await?;
    let (items, next_cursor) = keyset_page(items, limit, |delivery: &Delivery| (delivery.created_at, delivery.id));
    Ok(HttpResponse::Ok().json(DeliveryPage { items, next_cursor }))
}

/// `POST /deliveries/{id}/retry`: a dead delivery back to pending with a fresh budget.
#[utoipa::path(
    post,
    path = "/deliveries/{id}/retry",
    tag = "deliveries",
    params(("id" = Uuid, Path, description = "The delivery id")),
    responses(
        (status = 202, description = "Pending again", body = Delivery),
        (status = 404, description = "No such delivery", body = service_kit::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is not dead", body = service_kit::problem::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn retry_one(pool: web::Data<DbPool>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = Uuid::try_parse(&path).map_err(|_| {
        ApiError::Validation(vec![FieldProblem::parameter(
            "id",
            "not a valid delivery id: expected a UUID",
        )])
    })?;
    let (retried, delivery) = pool
        .run(move |c| {
            let retried = deliveries::retry_dead(c, Some(id), Timestamp::now())?;
            Ok::<_, ApiError>((retried, deliveries::find(c, id)?))
        })
        .await?;
    match (retried, delivery) {
        (_, None) => Err(ApiError::NotFound(format!("no delivery {id}"))),
        (1, Some(delivery)) => {
            tracing::info!(delivery_id = %id, "dead delivery returned to pending");
            Ok(HttpResponse::Accepted().json(delivery))
        }
        (_, Some(delivery)) => Err(ApiError::Conflict(format!(
            "delivery {id} is {}, not dead",
            delivery.status.as_str()
        ))),
    }
}

/// `POST /deliveries/retry-dead`: every dead delivery back to pending.
#[utoipa::path(
    post,
    path = "/deliveries/retry-dead",
    tag = "deliveries",
    responses((status = 202, description = "How many went back to pending", body = RetriedCount))
)]
pub(crate) async fn retry_all_dead(pool: web::Data<DbPool>) -> Result<HttpResponse, ApiError> {
    let retried = pool
        .run(move |c| deliveries::retry_dead(c, None, Timestamp::now()).map_err(ApiError::from))
        .await?;
    tracing::info!(retried, "dead deliveries returned to pending");
    Ok(HttpResponse::Accepted().json(RetriedCount {
        retried: retried as u64,
    }))
}
